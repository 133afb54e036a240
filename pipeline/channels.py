"""GA4's default channel grouping, computed from source, medium and campaign.

Google Analytics 4 puts every session into one *default channel group* by rules
evaluated top to bottom, the first match winning (Google's help page "[GA4] Default
channel group", answer 9756891). The rules, in order:

========================== ==========================================================
Direct                     source is ``(direct)`` and medium is ``(none)``/``(not set)``
Cross-network              campaign contains ``cross-network``
Paid Shopping              (shopping site, or shopping campaign) and a paid medium
Paid Search                search site and a paid medium
Paid Social                social site and a paid medium
Paid Video                 video site and a paid medium
Display                    medium is display, banner, expandable, interstitial or cpm
Paid Other                 a paid medium: ``^(.*cp.*|ppc|retargeting|paid.*)$``
Organic Shopping           shopping site, or shopping campaign
Organic Social             social site, or a social medium (social, sm, ...)
Organic Video              video site, or a medium containing ``video``
Organic Search             search site, or medium ``organic``
Referral                   medium is referral, app or link
Email                      source or medium is email, e-mail, e_mail or e mail
Affiliates                 medium is affiliate
Audio                      medium is audio
SMS                        source or medium is sms
Mobile Push Notifications  medium ends with push, or contains mobile or notification,
                           or source is firebase
Unassigned                 nothing above matched
========================== ==========================================================

Matching ignores case, as GA4 does. A "shopping campaign" is one whose name matches
``^(.*(([^a-df-z]|^)shop|shopping).*)$``.

Notes
-----
Google matches sources against internal lists of search, social, video and shopping
sites that it publishes only as a spreadsheet behind its help centre; that list could
not be downloaded here. :data:`SEARCH_SITES`, :data:`SOCIAL_SITES`,
:data:`VIDEO_SITES` and :data:`SHOPPING_SITES` hold the major sites we could write
down. A source is compared after lower-casing, dropping a scheme, a path and a
leading ``www.``, ``m.``, ``l.``, ``lm.``, ``mobile.``, ``search.`` or ``out.``;
it then matches a listed name alone (``facebook``) or followed by one or two
top-level-domain labels (``facebook.com``, ``google.co.uk``). Other subdomains
(``tagassistant.google.com``, ``gemini.google.com``) do not match, so a rare site
missing from our lists lands in Referral or Unassigned where GA4 might say
Organic Search or Organic Social.
"""

from __future__ import annotations

import logging

import pandas as pd

logger = logging.getLogger(__name__)

CHANNEL_GROUPS: tuple[str, ...] = (
    "Direct",
    "Cross-network",
    "Paid Shopping",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Display",
    "Paid Other",
    "Organic Shopping",
    "Organic Social",
    "Organic Video",
    "Organic Search",
    "Referral",
    "Email",
    "Affiliates",
    "Audio",
    "SMS",
    "Mobile Push Notifications",
    "Unassigned",
)
"""GA4's default channel groups, in the order their rules are evaluated."""

EVENT_CHANNELS: dict[str, str] = {
    "email_open": "Email",
    "email_click": "Email",
    "email_delivered": "Email",
    "sms_click": "SMS",
    "sms_delivered": "SMS",
}
"""The channel of message events, whatever tool sent them (Klaviyo, ...)."""

AD_PLATFORM_CHANNELS: dict[str, str] = {
    "meta": "Paid Social",
    "facebook": "Paid Social",
    "instagram": "Paid Social",
    "tiktok": "Paid Social",
    "pinterest": "Paid Social",
    "snapchat": "Paid Social",
    "linkedin": "Paid Social",
    "google_ads": "Paid Search",
    "microsoft_ads": "Paid Search",
    "bing": "Paid Search",
}
"""The paid channel of an ad platform's clicks and spend when nothing finer is known."""

GOOGLE_ADS_CHANNELS: dict[str, str] = {
    "search": "Paid Search",
    "shopping": "Paid Shopping",
    "display": "Display",
    "video": "Paid Video",
    "performance max": "Cross-network",
    "demand gen": "Cross-network",
    "discovery": "Cross-network",
    "smart": "Cross-network",
    "app": "Paid Other",
}
"""Google Ads campaign types -> GA4 channel groups (GA4 groups Performance Max and
Smart campaigns as Cross-network)."""

SEARCH_SITES: tuple[str, ...] = (
    "google", "bing", "yahoo", "duckduckgo", "baidu", "yandex", "ecosia", "naver",
    "ask", "aol", "seznam", "startpage", "qwant", "brave", "sogou", "so", "daum",
    "coccoc", "onet", "msn", "dogpile", "yippy", "lycos", "mail.ru", "rambler",
    "kvasir", "search-results", "najdi", "biglobe", "goo", "rakuten",
    "petalsearch", "alice", "avg", "incredimail", "mywebsearch", "babylon",
)
"""Search engines (a subset of Google's list: see the module notes)."""

SOCIAL_SITES: tuple[str, ...] = (
    "facebook", "fb", "instagram", "ig", "linkedin", "lnkd.in", "twitter", "t.co",
    "x", "pinterest", "pin.it", "tiktok", "reddit", "snapchat", "tumblr", "quora",
    "vk", "weibo", "wechat", "whatsapp", "messenger", "telegram", "t.me", "discord",
    "threads", "mastodon", "line", "meetup", "myspace", "nextdoor", "flickr",
    "xing", "ok", "odnoklassniki", "douban", "qzone", "kakao", "bsky", "bluesky",
    "medium", "disqus", "slack", "yelp", "tripadvisor", "goodreads", "deviantart",
    "stackoverflow", "stackexchange", "news.ycombinator", "producthunt", "lemon8-app",
    "youtube-social", "an", "meta", "facebookmail", "instagram-stories",
)
"""Social networks (a subset of Google's list: see the module notes).

``an`` is Meta's Audience Network source tag, ``fb`` and ``ig`` Meta's own short
tags for Facebook and Instagram.
"""

VIDEO_SITES: tuple[str, ...] = (
    "youtube", "youtu.be", "yt", "vimeo", "twitch", "dailymotion", "wistia", "ted",
    "netflix", "hulu", "rumble", "bilibili", "iqiyi", "youku", "vidyard", "loom",
    "crackle", "disneyplus", "primevideo", "roku", "peacocktv",
)
"""Video sites (a subset of Google's list: see the module notes)."""

SHOPPING_SITES: tuple[str, ...] = (
    "amazon", "ebay", "etsy", "walmart", "alibaba", "aliexpress", "mercadolibre",
    "shopify", "shop.app", "shopping.google", "google shopping", "igshopping",
    "rakuten-shop", "target", "bestbuy", "zalando", "wayfair", "shopee", "lazada",
    "temu", "stripe", "checkout.stripe", "shopzilla", "pricegrabber", "idealo",
)
"""Shopping sites (a subset of Google's list: see the module notes)."""

_PAID_MEDIUM = r"^(?:.*cp.*|ppc|retargeting|paid.*)$"
_SHOP_CAMPAIGN = r"^.*(?:(?:[^a-df-z]|^)shop|shopping).*$"
_HOST_PREFIX = r"^(?:(?:www|m|l|lm|mobile|search|out)\.)+"
_DISPLAY_MEDIUMS = ("display", "banner", "expandable", "interstitial", "cpm")
_EMAIL = ("email", "e-mail", "e_mail", "e mail")
_SOCIAL_MEDIUMS = (
    "social", "social-network", "social-media", "sm", "social network", "social media",
)


def _site_pattern(names: tuple[str, ...]) -> str:
    """Regex matching a host that is one of ``names``, bare or with 1-2 TLD labels."""
    alternatives = "|".join(
        sorted((name.replace(".", r"\.") for name in names), key=len, reverse=True)
    )
    return rf"^(?:{alternatives})(?:\.[a-z]{{2,6}}){{0,2}}$"


_SEARCH = _site_pattern(SEARCH_SITES)
_SOCIAL = _site_pattern(SOCIAL_SITES)
_VIDEO = _site_pattern(VIDEO_SITES)
_SHOPPING = _site_pattern(SHOPPING_SITES)


def normalise_source(source: pd.Series) -> pd.Series:
    """Lower-case a source and reduce a URL to its host without common prefixes.

    Parameters
    ----------
    source
        Raw source values (``https://www.Google.com/search``, ``l.facebook.com``).

    Returns
    -------
    pandas.Series
        Strings (``google.com``, ``facebook.com``); missing values become ``""``.
    """
    host = source.astype("string").fillna("").str.strip().str.lower()
    host = host.str.replace(r"^[a-z][a-z0-9+.-]*://", "", regex=True)
    host = host.str.replace(r"[/?#].*$", "", regex=True)
    return host.str.replace(_HOST_PREFIX, "", regex=True)


def channel_groups(
    source: pd.Series,
    medium: pd.Series,
    campaign: pd.Series | None = None,
) -> pd.Series:
    """GA4's default channel group of each (source, medium, campaign), vectorised.

    Parameters
    ----------
    source, medium
        Traffic source and medium, aligned by position. When both are missing the
        visit counts as ``(direct)`` / ``(none)``, as GA4 reports sessions that
        carry no source at all.
    campaign
        Campaign names, optional (used by Cross-network and the shopping rules).

    Returns
    -------
    pandas.Series
        One of :data:`CHANNEL_GROUPS` per row (string dtype), on ``source``'s index.

    Examples
    --------
    >>> import pandas as pd
    >>> channel_groups(pd.Series(["google", "l.facebook.com"]),
    ...                pd.Series(["cpc", "referral"])).tolist()
    ['Paid Search', 'Organic Social']
    """
    index = source.index
    raw_source = pd.Series(source.to_numpy(), dtype="string")
    raw_medium = pd.Series(pd.Series(medium).to_numpy(), dtype="string")
    if len(raw_medium) != len(raw_source):
        raise ValueError(
            f"source has {len(raw_source)} values but medium has {len(raw_medium)}: "
            "pass one medium per source"
        )
    both_missing = raw_source.isna() & raw_medium.isna()
    src = normalise_source(raw_source).mask(both_missing, "(direct)")
    med = raw_medium.fillna("").str.strip().str.lower().mask(both_missing, "(none)")
    if campaign is None:
        camp = pd.Series("", index=src.index, dtype="string")
    else:
        camp = pd.Series(pd.Series(campaign).to_numpy(), dtype="string")
        camp = camp.fillna("").str.strip().str.lower()

    paid = med.str.fullmatch(_PAID_MEDIUM)
    search = src.str.fullmatch(_SEARCH)
    social = src.str.fullmatch(_SOCIAL)
    video = src.str.fullmatch(_VIDEO)
    shop_campaign = camp.str.fullmatch(_SHOP_CAMPAIGN)
    shopping = src.str.fullmatch(_SHOPPING) | shop_campaign

    rules: list[tuple[str, pd.Series]] = [
        ("Direct", (src == "(direct)") & med.isin(["(none)", "(not set)", ""])),
        ("Cross-network", camp.str.contains("cross-network", regex=False)),
        ("Paid Shopping", shopping & paid),
        ("Paid Search", search & paid),
        ("Paid Social", social & paid),
        ("Paid Video", video & paid),
        ("Display", med.isin(_DISPLAY_MEDIUMS)),
        ("Paid Other", paid),
        ("Organic Shopping", shopping),
        ("Organic Social", social | med.isin(_SOCIAL_MEDIUMS)),
        ("Organic Video", video | med.str.contains("video", regex=False)),
        ("Organic Search", search | (med == "organic")),
        ("Referral", med.isin(["referral", "app", "link"])),
        ("Email", src.isin(_EMAIL) | med.isin(_EMAIL)),
        ("Affiliates", med.isin(["affiliate", "affiliates"])),
        ("Audio", med == "audio"),
        ("SMS", (src == "sms") | (med == "sms")),
        (
            "Mobile Push Notifications",
            med.str.endswith("push")
            | med.str.contains("mobile", regex=False)
            | med.str.contains("notification", regex=False)
            | (src == "firebase"),
        ),
    ]

    out = pd.Series("Unassigned", index=src.index, dtype="string")
    assigned = pd.Series(False, index=src.index)
    for name, hit in rules:
        take = hit.fillna(False).astype(bool) & ~assigned
        out = out.mask(take, name)
        assigned |= take
    out.index = index
    return out


def channel_group(
    source: str | None, medium: str | None, campaign: str | None = None
) -> str:
    """GA4's default channel group of one visit; see :func:`channel_groups`.

    Examples
    --------
    >>> channel_group("klaviyo", "email")
    'Email'
    """
    result = channel_groups(
        pd.Series([source], dtype="string"),
        pd.Series([medium], dtype="string"),
        None if campaign is None else pd.Series([campaign], dtype="string"),
    )
    return str(result.iloc[0])
