from django.shortcuts import get_object_or_404, render

from .models import Product


def home(request):
    return render(request, "store/home.html", {"products": Product.objects.all()})


def product(request, slug):
    return render(request, "store/product.html", {"product": get_object_or_404(Product, slug=slug)})
