"""Stage rules: a typed, serialisable configuration of what moves a lead up.

The defaults follow the article the product comes from:

- engaged: at least 3 ``email_open`` in the last 14 days; or at least 5
  ``product_view`` in the last 30 days; or an ``email_click`` with a product in the
  last 30 days; or a ``wishlist_add`` in the last 30 days;
- purchase intent: an ``add_to_cart`` or ``checkout_started`` in the last 30 days
  with no order after it; or the same product viewed at least 3 times in the last
  30 days; or a ``sizing_view`` in the last 30 days;
- customer: at least one purchase, ever.

"Last *d* days" is the *d* days ending with the day evaluated, in the store's time
zone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class Rule:
    """At least ``min_count`` matching events within ``window_days`` days.

    Attributes
    ----------
    stage
        The stage the rule puts a lead in: ``engaged`` or ``purchase_intent``.
    label
        What the rule says, for people.
    enabled
        A rule switched off never holds.
    min_count
        How many matching events are needed.
    window_days
        The window, in days, ending with the day evaluated.
    """

    stage: str
    label: str
    enabled: bool = True
    min_count: int = 1
    window_days: int = 30


def _default_rules() -> dict[str, Rule]:
    return {
        "engaged_opens": Rule("engaged", "email opens", True, 3, 14),
        "engaged_product_views": Rule("engaged", "product views", True, 5, 30),
        "engaged_product_click": Rule(
            "engaged", "email click on a product", True, 1, 30
        ),
        "engaged_wishlist": Rule("engaged", "wishlist adds", True, 1, 30),
        "intent_cart": Rule(
            "purchase_intent", "cart or checkout, no order after", True, 1, 30
        ),
        "intent_same_product": Rule(
            "purchase_intent", "views of one product", True, 3, 30
        ),
        "intent_sizing": Rule("purchase_intent", "sizing or pricing page", True, 1, 30),
    }


RULE_NAMES: tuple[str, ...] = tuple(_default_rules())
"""The rule names, in the order the sidebar shows them."""


@dataclass(frozen=True)
class StageRules:
    """All stage rules, plus the customer rule (at least ``customer_min_orders``)."""

    rules: dict[str, Rule] = field(default_factory=_default_rules)
    customer_min_orders: int = 1

    def with_rule(self, name: str, **changes: Any) -> StageRules:
        """A copy with one rule changed: ``with_rule("engaged_opens", min_count=4)``."""
        if name not in self.rules:
            raise KeyError(
                f"unknown rule {name!r}; known rules: {', '.join(self.rules)}"
            )
        rules = dict(self.rules)
        rules[name] = replace(rules[name], **changes)
        return replace(self, rules=rules)

    def enabled(self, name: str) -> bool:
        """Whether rule ``name`` is switched on."""
        return self.rules[name].enabled

    def to_dict(self) -> dict[str, Any]:
        """Plain data, the inverse of :meth:`from_dict`."""
        return {
            "rules": {name: asdict(rule) for name, rule in self.rules.items()},
            "customer_min_orders": self.customer_min_orders,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageRules:
        """Rules from plain data; missing rules and fields keep their defaults.

        Raises
        ------
        ValueError
            On an unknown rule or field, or a count or window below 1.
        """
        defaults = _default_rules()
        rules = dict(defaults)
        known = {f.name for f in fields(Rule)}
        for name, values in (data.get("rules") or {}).items():
            if name not in defaults:
                raise ValueError(
                    f"unknown stage rule {name!r}; use one of {', '.join(defaults)}"
                )
            unknown = set(values) - known
            if unknown:
                raise ValueError(
                    f"rule {name!r} has unknown fields {sorted(unknown)}; "
                    f"allowed: {sorted(known)}"
                )
            rule = replace(defaults[name], **values)
            if rule.min_count < 1 or rule.window_days < 1:
                raise ValueError(
                    f"rule {name!r}: min_count and window_days must be at least 1"
                )
            rules[name] = rule
        return cls(
            rules=rules, customer_min_orders=int(data.get("customer_min_orders", 1))
        )

    def to_json(self) -> str:
        """JSON text, as saved in a preset file."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> StageRules:
        """Rules from JSON text written by :meth:`to_json`."""
        return cls.from_dict(json.loads(text))
