from django.db import models
from django.urls import reverse


class Product(models.Model):
    """A product the merchant sells; the checkout's cart knows it by its Spectra variant."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    sku = models.CharField(max_length=64, unique=True)
    spectra_variant_id = models.PositiveIntegerField(unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("product", args=[self.slug])
