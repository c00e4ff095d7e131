"""Seed data: the refurbished-device catalog, promo codes, gift cards, tax rules, services.

Everything is built fresh by the ``seed_*`` functions so a reset gives the same start.
Stock numbers come from a seeded RNG, so two sandboxes started with the same ``--seed``
hold the same catalog. ``docs/sandbox.md`` lists the same data for humans.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

GIFT_CARD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GIFT_CARD_RE = re.compile(rf"^[{GIFT_CARD_ALPHABET}]{{16}}$")

CENT = Decimal("0.01")


@dataclass
class Variant:
    id: int
    product_id: int
    sku: str
    price: Decimal
    compare_at_price: Decimal | None
    quantity_available: int
    weight_oz: Decimal
    attributes: dict[str, str | None]


@dataclass
class Product:
    id: int
    name: str
    slug: str
    description: str
    category: str
    brand: str
    variants: list[Variant] = field(default_factory=list)


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    slug: str


@dataclass
class Promo:
    code: str
    kind: str  # percentage | fixed | free_shipping
    value: Decimal = Decimal("0")
    max_discount: Decimal | None = None
    min_subtotal: Decimal | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    per_customer_limit: int | None = None
    category: str | None = None  # applies to items of this category only
    times_used: int = 0
    used_by: dict[str, int] = field(default_factory=dict)


@dataclass
class GiftCard:
    code: str
    balance: Decimal
    initial_balance: Decimal
    status: str  # active | redeemed | expired | disabled
    expires_at: datetime | None = None


@dataclass(frozen=True)
class TaxRule:
    country: str
    state: str | None
    rate: Decimal


@dataclass(frozen=True)
class ShippingService:
    carrier: str
    service: str
    service_code: str
    base: Decimal
    per_lb: Decimal
    per_zone: Decimal
    ground: bool
    fixed_days: int | None  # None: ground transit grows with the zone


CATEGORIES = [
    Category(1, "Phones", "phones"),
    Category(2, "Tablets", "tablets"),
    Category(3, "Watches", "watches"),
    Category(4, "Accessories", "accessories"),
]

CONDITIONS = {"Excellent": Decimal("1.00"), "Good": Decimal("0.90"), "Fair": Decimal("0.80")}
CARRIER_DELTA = {"Unlocked": Decimal("20"), "Verizon": Decimal("0"), "AT&T": Decimal("0")}
COLOR_HEX = {
    "Midnight": "#1f2933",
    "Starlight": "#f3ead8",
    "Blue": "#2f6fb3",
    "Space Black": "#2b2b2b",
    "Silver": "#c9ccd1",
    "Gold": "#d8b96b",
    "Deep Purple": "#5b4a6e",
    "Phantom Black": "#222222",
    "Cream": "#efe6d2",
    "Lavender": "#b9a7d8",
    "Obsidian": "#2a2a2a",
    "Snow": "#f5f5f5",
    "Hazel": "#9c9a7d",
    "Titan Black": "#303030",
    "Eternal Green": "#2d5a45",
    "Space Gray": "#6b6e73",
    "Graphite": "#4a4a4a",
    "Clear": "#e8f1f8",
    "White": "#ffffff",
    "Black": "#111111",
    "Red": "#c0392b",
}

# name, brand, category, description, base price, colors, storages (name->delta),
# conditions, carriers, weight_oz
_PRODUCTS: list[
    tuple[str, str, str, str, str, list[str], dict[str, str], list[str], list[str | None], str]
] = [
    (
        "iPhone 14 Pro",
        "Apple",
        "phones",
        "Refurbished iPhone 14 Pro with a new battery, tested on 70 points.",
        "679.00",
        ["Space Black", "Deep Purple", "Gold"],
        {"128GB": "0", "256GB": "90", "512GB": "210"},
        ["Excellent", "Good", "Fair"],
        ["Unlocked", "Verizon"],
        "7.3",
    ),
    (
        "iPhone 13",
        "Apple",
        "phones",
        "Refurbished iPhone 13, fully tested, 90-day warranty.",
        "429.00",
        ["Midnight", "Starlight", "Blue"],
        {"128GB": "0", "256GB": "70"},
        ["Excellent", "Good"],
        ["Unlocked", "AT&T"],
        "6.1",
    ),
    (
        "iPhone SE (2022)",
        "Apple",
        "phones",
        "The compact iPhone with Touch ID, refurbished.",
        "189.00",
        ["Midnight", "Starlight", "Red"],
        {"64GB": "0", "128GB": "40"},
        ["Excellent", "Good"],
        ["Unlocked"],
        "5.1",
    ),
    (
        "Galaxy S23",
        "Samsung",
        "phones",
        "Refurbished Samsung Galaxy S23, unlocked for every US carrier.",
        "449.00",
        ["Phantom Black", "Cream", "Lavender"],
        {"128GB": "0", "256GB": "60"},
        ["Excellent", "Good"],
        ["Unlocked"],
        "5.9",
    ),
    (
        "Galaxy S22 Ultra",
        "Samsung",
        "phones",
        "Refurbished Galaxy S22 Ultra with S Pen.",
        "519.00",
        ["Phantom Black", "Graphite"],
        {"128GB": "0", "256GB": "60", "512GB": "140"},
        ["Good", "Fair"],
        ["Unlocked", "Verizon"],
        "8.0",
    ),
    (
        "Pixel 7",
        "Google",
        "phones",
        "Refurbished Google Pixel 7.",
        "279.00",
        ["Obsidian", "Snow"],
        {"128GB": "0", "256GB": "50"},
        ["Excellent", "Good"],
        ["Unlocked"],
        "6.9",
    ),
    (
        "Pixel 8 Pro",
        "Google",
        "phones",
        "Refurbished Google Pixel 8 Pro.",
        "599.00",
        ["Obsidian", "Snow"],
        {"128GB": "0", "256GB": "60"},
        ["Excellent"],
        ["Unlocked"],
        "7.5",
    ),
    (
        "OnePlus 11",
        "OnePlus",
        "phones",
        "Refurbished OnePlus 11 5G.",
        "349.00",
        ["Titan Black", "Eternal Green"],
        {"128GB": "0", "256GB": "50"},
        ["Excellent", "Good"],
        ["Unlocked"],
        "7.2",
    ),
    (
        "iPad Air (5th generation)",
        "Apple",
        "tablets",
        "Refurbished iPad Air with the M1 chip, Wi-Fi.",
        "449.00",
        ["Space Gray", "Blue"],
        {"64GB": "0", "256GB": "120"},
        ["Excellent", "Good"],
        [None],
        "16.9",
    ),
    (
        "iPad (9th generation)",
        "Apple",
        "tablets",
        "Refurbished 10.2-inch iPad, Wi-Fi.",
        "229.00",
        ["Space Gray", "Silver"],
        {"64GB": "0", "256GB": "100"},
        ["Excellent", "Good", "Fair"],
        [None],
        "17.6",
    ),
    (
        "Galaxy Tab S8",
        "Samsung",
        "tablets",
        "Refurbished Galaxy Tab S8 with S Pen.",
        "399.00",
        ["Graphite", "Silver"],
        {"128GB": "0"},
        ["Excellent", "Good"],
        [None],
        "17.9",
    ),
    (
        "Apple Watch Series 8",
        "Apple",
        "watches",
        "Refurbished Apple Watch Series 8, GPS, 45mm.",
        "239.00",
        ["Midnight", "Starlight", "Silver"],
        {"32GB": "0"},
        ["Excellent", "Good"],
        [None],
        "3.2",
    ),
    (
        "USB-C to Lightning Cable (1 m)",
        "Spectra Essentials",
        "accessories",
        "Braided USB-C to Lightning cable, 1 meter.",
        "9.99",
        ["White", "Black"],
        {"": "0"},
        ["New"],
        [None],
        "1.4",
    ),
    (
        "20W USB-C Power Adapter",
        "Spectra Essentials",
        "accessories",
        "Compact 20W USB-C wall charger.",
        "14.99",
        ["White"],
        {"": "0"},
        ["New"],
        [None],
        "2.1",
    ),
    (
        "Clear Case for iPhone 13",
        "Spectra Essentials",
        "accessories",
        "Slim clear case with raised edges.",
        "12.99",
        ["Clear", "Black"],
        {"": "0"},
        ["New"],
        [None],
        "1.1",
    ),
    (
        "Tempered Glass Screen Protector (2-pack)",
        "Spectra Essentials",
        "accessories",
        "Two 9H tempered glass screen protectors for iPhone 13 and 14.",
        "3.99",
        ["Clear"],
        {"": "0"},
        ["New"],
        [None],
        "0.8",
    ),
]


SKU_PREFIXES = {
    "iPhone 14 Pro": "IP14P",
    "iPhone 13": "IP13",
    "iPhone SE (2022)": "IPSE3",
    "Galaxy S23": "GS23",
    "Galaxy S22 Ultra": "GS22U",
    "Pixel 7": "PX7",
    "Pixel 8 Pro": "PX8P",
    "OnePlus 11": "OP11",
    "iPad Air (5th generation)": "IPADAIR5",
    "iPad (9th generation)": "IPAD9",
    "Galaxy Tab S8": "GTABS8",
    "Apple Watch Series 8": "AWS8",
    "USB-C to Lightning Cable (1 m)": "CBL-USBC-LTG",
    "20W USB-C Power Adapter": "PWR-20W",
    "Clear Case for iPhone 13": "CASE-IP13",
    "Tempered Glass Screen Protector (2-pack)": "SCRN-IP13-2PK",
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _sku_part(text: str, size: int = 3) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9]", "", text).upper()
    return cleaned[:size] or "X"


def seed_catalog(seed: int) -> list[Product]:
    """Build the catalog; the first variant of each product is always in stock."""
    rng = random.Random(seed)
    products: list[Product] = []
    variant_ids = itertools.count(10001)
    for product_id, row in enumerate(_PRODUCTS, start=1):
        name, brand, category, desc, base, colors, storages, conds, carriers, weight = row
        product = Product(product_id, name, _slug(name), desc, category, brand)
        prefix = SKU_PREFIXES[name]
        combos = itertools.product(storages.items(), colors, conds, carriers)
        for index, ((storage, delta), color, cond, carrier) in enumerate(combos):
            multiplier = CONDITIONS.get(cond, Decimal("1.00"))
            price = (Decimal(base) + Decimal(delta)) * multiplier
            price += CARRIER_DELTA.get(carrier or "", Decimal("0"))
            price = price.quantize(Decimal("1")) - Decimal("0.01") if price > 50 else price
            price = price.quantize(CENT)
            compare_at = None
            if cond in {"Excellent", "Good"} and price > 50:
                compare_at = (price * Decimal("1.25")).quantize(Decimal("1")) - CENT
            stock = rng.choice([0, 0, 1, 2, 3, 5, 8, 12, 20, 40])
            if index == 0:
                stock = max(stock, 25)
            if category == "accessories":
                stock = 500 if index == 0 else stock * 10
            storage_code = storage.replace("GB", "") if storage else None
            parts = [prefix, storage_code, _sku_part(color.replace(" ", ""), 4)]
            parts += [_sku_part(cond, 1) if cond != "New" else "NEW"]
            parts += [_sku_part(carrier, 3) if carrier else None]
            sku = "-".join(p for p in parts if p)
            product.variants.append(
                Variant(
                    id=next(variant_ids),
                    product_id=product_id,
                    sku=sku,
                    price=price,
                    compare_at_price=compare_at,
                    quantity_available=stock,
                    weight_oz=Decimal(weight),
                    attributes={
                        "color": color,
                        "storage": storage or None,
                        "condition": cond,
                        "carrier": carrier,
                    },
                )
            )
        # Guarantee each product shows one sold-out variant when it has several.
        if len(product.variants) > 2:
            product.variants[-1].quantity_available = 0
        products.append(product)
    return products


def seed_promos(now: datetime) -> dict[str, Promo]:
    promos = [
        Promo("SAVE10", "percentage", Decimal("10")),
        Promo("TAKE20", "percentage", Decimal("20"), max_discount=Decimal("50.00")),
        Promo("FIVEOFF", "fixed", Decimal("5.00")),
        Promo("FREESHIP", "free_shipping"),
        Promo("BIGSPEND100", "fixed", Decimal("100.00"), min_subtotal=Decimal("500.00")),
        Promo("ACCESSORY50", "percentage", Decimal("50"), category="accessories"),
        Promo("EXPIRED15", "percentage", Decimal("15"), ends_at=now - timedelta(days=30)),
        Promo("FUTURE25", "percentage", Decimal("25"), starts_at=now + timedelta(days=30)),
        Promo("ONEUSE", "fixed", Decimal("10.00"), usage_limit=1),
        Promo("WELCOME15", "percentage", Decimal("15"), per_customer_limit=1),
    ]
    return {p.code: p for p in promos}


def seed_gift_cards(now: datetime) -> dict[str, GiftCard]:
    def card(code: str, balance: str, status: str = "active", **kw: datetime) -> GiftCard:
        assert GIFT_CARD_RE.match(code), code
        return GiftCard(code, Decimal(balance), Decimal(balance), status, **kw)

    cards = [
        card("CARD25BALANCEABC", "25.00"),
        card("CARDFFTYBALANCEX", "50.00"),
        card("CARDHUGEBALANCEX", "5000.00"),
        card("CARDTENBALANCEXY", "10.00"),
        card("CARDREDEEMEDXYZW", "0.00", "redeemed"),
        card("CARDLAPSEDXYZWVU", "40.00", "expired", expires_at=now - timedelta(days=10)),
        card("CARDBLCKEDXYZWVU", "60.00", "disabled"),
    ]
    return {c.code: c for c in cards}


def seed_tax_rules() -> list[TaxRule]:
    rates = {
        "NY": "0.08875",
        "CA": "0.0725",
        "TX": "0.0625",
        "NJ": "0.06625",
        "WA": "0.065",
        "PA": "0.06",
        "FL": "0.06",
        "IL": "0.0625",
        "MA": "0.0625",
    }
    rules = [TaxRule("US", state, Decimal(rate)) for state, rate in rates.items()]
    rules.append(TaxRule("CA", None, Decimal("0.05")))  # Canada: a country-wide rule
    return rules


SHIPPING_SERVICES: list[ShippingService] = [
    ShippingService(
        "UPS",
        "UPS Ground",
        "ups_ground",
        Decimal("7.74"),
        Decimal("0.50"),
        Decimal("0.75"),
        ground=True,
        fixed_days=None,
    ),
    ShippingService(
        "FedEx",
        "FedEx Ground",
        "fedex_ground",
        Decimal("7.89"),
        Decimal("0.45"),
        Decimal("0.80"),
        ground=True,
        fixed_days=None,
    ),
    ShippingService(
        "UPS",
        "UPS 3 Day Select",
        "ups_3_day_select",
        Decimal("13.49"),
        Decimal("0.90"),
        Decimal("1.10"),
        ground=False,
        fixed_days=3,
    ),
    ShippingService(
        "FedEx",
        "FedEx 2Day",
        "fedex_2day",
        Decimal("17.99"),
        Decimal("1.10"),
        Decimal("1.40"),
        ground=False,
        fixed_days=2,
    ),
    ShippingService(
        "UPS",
        "UPS 2nd Day Air",
        "ups_2nd_day_air",
        Decimal("18.49"),
        Decimal("1.05"),
        Decimal("1.45"),
        ground=False,
        fixed_days=2,
    ),
    ShippingService(
        "UPS",
        "UPS Next Day Air",
        "ups_next_day_air",
        Decimal("32.99"),
        Decimal("1.60"),
        Decimal("2.20"),
        ground=False,
        fixed_days=1,
    ),
    ShippingService(
        "FedEx",
        "FedEx Standard Overnight",
        "fedex_standard_overnight",
        Decimal("31.49"),
        Decimal("1.70"),
        Decimal("2.30"),
        ground=False,
        fixed_days=1,
    ),
]
