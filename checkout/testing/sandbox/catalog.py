"""The catalog: products, variants and categories as the API lists them."""

from __future__ import annotations

from typing import Any

from checkout.testing.sandbox.records import ApiError, money
from checkout.testing.sandbox.seed import CATEGORIES, Product, Variant
from checkout.testing.sandbox.state import StoreState


class CatalogMixin(StoreState):
    """Reading the catalog."""

    def variant_dict(self, variant: Variant, base_url: str) -> dict[str, Any]:
        return {
            "id": variant.id,
            "product_id": variant.product_id,
            "sku": variant.sku,
            "price": money(variant.price),
            "compare_at_price": (
                money(variant.compare_at_price) if variant.compare_at_price else None
            ),
            "quantity_available": variant.quantity_available,
            "in_stock": variant.quantity_available > 0,
            "weight_oz": float(variant.weight_oz),
            "image_url": f"{base_url}/_sandbox/images/{variant.sku}.svg",
            "attributes": dict(variant.attributes),
        }

    def product_dict(self, product: Product, base_url: str) -> dict[str, Any]:
        variants = [self.variant_dict(v, base_url) for v in product.variants]
        prices = [v.price for v in product.variants]
        return {
            "id": product.id,
            "name": product.name,
            "slug": product.slug,
            "description": product.description,
            "category": product.category,
            "brand": product.brand,
            "price_min": money(min(prices)),
            "price_max": money(max(prices)),
            "in_stock": any(v.quantity_available > 0 for v in product.variants),
            "image_url": variants[0]["image_url"],
            "variants": variants,
        }

    def list_products(
        self, base_url: str, category: str | None, brand: str | None, search: str | None
    ) -> list[dict[str, Any]]:
        with self.lock:
            result = []
            for product in self.products:
                if category and product.category != category:
                    continue
                if brand and product.brand.lower() != brand.lower():
                    continue
                if search and search.lower() not in product.name.lower():
                    continue
                result.append(self.product_dict(product, base_url))
            return result

    def get_product(self, product_id: int, base_url: str) -> dict[str, Any]:
        with self.lock:
            product = self.product_by_id.get(product_id)
            if product is None:
                raise ApiError(404, "product_not_found", "No product with this id.")
            return self.product_dict(product, base_url)

    def list_categories(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {
                    "id": c.id,
                    "name": c.name,
                    "slug": c.slug,
                    "product_count": sum(1 for p in self.products if p.category == c.slug),
                }
                for c in CATEGORIES
            ]

    def variant_image(self, sku: str) -> tuple[str, str] | None:
        with self.lock:
            for variant in self.variants.values():
                if variant.sku == sku:
                    product = self.product_by_id[variant.product_id]
                    return product.name, str(variant.attributes.get("color") or "")
            return None
