"""The fictional store's fixed vocabulary: products, channels, messages and names.

Everything here is invented for the sample brand (an apparel store called
Northfold); nothing is taken from a real store.
"""

from __future__ import annotations

# Products: (name, price, compare-at price, vendor, sku stem, sizes).
PRODUCTS: tuple[tuple[str, float, float, str, str, tuple[str, ...]], ...] = (
    (
        "Harbor Overshirt - Sand",
        128.00,
        128.00,
        "OVERSHIRTS",
        "NF101_SAND",
        ("S", "M", "L", "XL"),
    ),
    (
        "Harbor Overshirt - Slate",
        128.00,
        128.00,
        "OVERSHIRTS",
        "NF101_SLATE",
        ("S", "M", "L", "XL"),
    ),
    (
        "Ridge Selvedge Jean - Rinse",
        168.00,
        168.00,
        "DENIM",
        "NF210_RINSE",
        ("30", "32", "34", "36"),
    ),
    (
        "Ridge Selvedge Jean - Black",
        168.00,
        168.00,
        "DENIM",
        "NF210_BLACK",
        ("30", "32", "34", "36"),
    ),
    (
        "Coast Tapered Chino - Olive",
        98.00,
        120.00,
        "TROUSERS",
        "NF305_OLIVE",
        ("30", "32", "34", "36"),
    ),
    (
        "Coast Tapered Chino - Navy",
        98.00,
        120.00,
        "TROUSERS",
        "NF305_NAVY",
        ("30", "32", "34", "36"),
    ),
    (
        "Merino Crew - Oat",
        115.00,
        115.00,
        "KNITWEAR",
        "NF412_OAT",
        ("S", "M", "L", "XL"),
    ),
    (
        "Merino Crew - Charcoal",
        115.00,
        115.00,
        "KNITWEAR",
        "NF412_CHAR",
        ("S", "M", "L", "XL"),
    ),
    (
        "Field Jacket - Khaki",
        245.00,
        295.00,
        "OUTERWEAR",
        "NF520_KHAKI",
        ("S", "M", "L", "XL"),
    ),
    (
        "Field Jacket - Black",
        245.00,
        295.00,
        "OUTERWEAR",
        "NF520_BLACK",
        ("S", "M", "L", "XL"),
    ),
    ("Pocket Tee - White", 38.00, 38.00, "TEES", "NF601_WHITE", ("S", "M", "L", "XL")),
    (
        "Pocket Tee - Heather",
        38.00,
        38.00,
        "TEES",
        "NF601_HEATHER",
        ("S", "M", "L", "XL"),
    ),
    (
        "Trail Hoodie - Moss",
        110.00,
        110.00,
        "KNITWEAR",
        "NF430_MOSS",
        ("S", "M", "L", "XL"),
    ),
    ("Canvas Tote - Natural", 45.00, 45.00, "ACCESSORIES", "NF801_NAT", ("OS",)),
    ("Wool Beanie - Rust", 35.00, 35.00, "ACCESSORIES", "NF810_RUST", ("OS",)),
    (
        "Linen Camp Shirt - Sky",
        92.00,
        115.00,
        "SHIRTS",
        "NF150_SKY",
        ("S", "M", "L", "XL"),
    ),
)

# Channels, in GA4's default channel group names, with the source / medium of a
# session that comes from each.
CHANNELS: tuple[str, ...] = (
    "Email",
    "SMS",
    "Paid Social",
    "Paid Search",
    "Organic Search",
    "Direct",
    "Referral",
)
EMAIL, SMS, PAID_SOCIAL, PAID_SEARCH, ORGANIC, DIRECT, REFERRAL = range(len(CHANNELS))

SOURCE_MEDIUM: dict[int, tuple[str, str]] = {
    EMAIL: ("klaviyo", "email"),
    SMS: ("klaviyo", "sms"),
    PAID_SOCIAL: ("facebook", "paid_social"),
    PAID_SEARCH: ("google", "cpc"),
    ORGANIC: ("google", "organic"),
    DIRECT: ("(direct)", "(none)"),
    REFERRAL: ("thegoodsguide.example", "referral"),
}

AD_CAMPAIGNS: dict[int, tuple[str, ...]] = {
    PAID_SOCIAL: ("FB | Retargeting | DPA", "FB | Prospecting | Lookalike 2%"),
    PAID_SEARCH: ("Google | Brand", "Google | Shopping | All Products"),
}

# Event types as the simulation codes them (the canonical names of pipeline.model).
EVENT_NAMES: tuple[str, ...] = (
    "session",
    "page_view",
    "product_view",
    "sizing_view",
    "wishlist_add",
    "add_to_cart",
    "checkout_started",
    "order",
    "signup",
    "email_open",
    "email_click",
    "sms_click",
    "ad_click",
    "email_delivered",
)
(
    SESSION,
    PAGE_VIEW,
    PRODUCT_VIEW,
    SIZING_VIEW,
    WISHLIST_ADD,
    ADD_TO_CART,
    CHECKOUT_STARTED,
    ORDER,
    SIGNUP,
    EMAIL_OPEN,
    EMAIL_CLICK,
    SMS_CLICK,
    AD_CLICK,
    EMAIL_DELIVERED,
) = range(len(EVENT_NAMES))

# Klaviyo flows (automations); campaigns are named by their send date.
FLOW_WELCOME = (
    "Welcome Series - Email 1",
    "Welcome Series - Email 2",
    "Welcome Series - Email 3",
)
FLOW_CART = "Abandoned Cart - Email 1"
FLOW_POST_PURCHASE = "Post-Purchase - Care Guide"
CAMPAIGN_THEMES = (
    "New Arrivals",
    "Back in Stock",
    "The Layering Edit",
    "Weekend Sale",
    "Denim Guide",
    "Last Chance",
    "Staff Picks",
    "Gift Guide",
)
SMS_THEMES = ("SMS - Weekend Drop", "SMS - Early Access", "SMS - Restock Alert")

SIGNUP_FORMS = ("Popup - 10% Off", "Footer Newsletter", "Checkout Opt-in", "Fit Quiz")

FIRST_NAMES = (
    "Ava",
    "Ben",
    "Cara",
    "Dev",
    "Ella",
    "Finn",
    "Gia",
    "Hugo",
    "Isla",
    "Jon",
    "Kai",
    "Lena",
    "Max",
    "Nia",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sam",
    "Tess",
    "Uma",
    "Vik",
    "Wes",
    "Xena",
    "Yuri",
    "Zoe",
)
LAST_NAMES = (
    "Abbott",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
    "Novak",
    "Okafor",
    "Patel",
    "Quist",
    "Rossi",
    "Silva",
    "Tanaka",
    "Ulloa",
    "Vance",
    "Weber",
    "Young",
)
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com")

# (city, province code, province name, zip prefix) for addresses.
CITIES = (
    ("Brooklyn", "NY", "New York", "112"),
    ("Boston", "MA", "Massachusetts", "021"),
    ("Philadelphia", "PA", "Pennsylvania", "191"),
    ("Atlanta", "GA", "Georgia", "303"),
    ("Chicago", "IL", "Illinois", "606"),
    ("Austin", "TX", "Texas", "787"),
    ("Denver", "CO", "Colorado", "802"),
    ("Portland", "OR", "Oregon", "972"),
    ("Oakland", "CA", "California", "946"),
    ("Burlington", "VT", "Vermont", "054"),
)
