"""The sidebar's stage rules: a switch and two sliders per rule, and rule presets.

Every rule widget is bound to the URL's query parameter of its key, so a copied link
carries the rules. A preset is a rules JSON file
(:meth:`pipeline.rules.StageRules.to_json`), applied once per distinct file.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from pipeline.rules import RULE_NAMES, StageRules

PRESET_APPLIED_KEY = "_lens_preset_applied"


def rule_key(name: str, field: str) -> str:
    """The widget key (and URL parameter) of one field of one stage rule."""
    return f"rule_{name}_{field}"


def rules_from_state(rules: StageRules) -> None:
    """Put ``rules`` into the rule widgets' session state (presets, defaults)."""
    for name in RULE_NAMES:
        rule = rules.rules[name]
        st.session_state[rule_key(name, "enabled")] = rule.enabled
        st.session_state[rule_key(name, "min_count")] = rule.min_count
        st.session_state[rule_key(name, "window_days")] = rule.window_days


def restore_default_rules() -> None:
    """Button callback: every stage rule back to its default."""
    rules_from_state(StageRules())
    st.session_state[PRESET_APPLIED_KEY] = None


def rules_from_widgets(container=None) -> StageRules:
    """Draw the stage-rule widgets and return the rules they set.

    Every widget is bound to a query parameter named by its key, so the URL carries
    the rules.
    """
    box = container if container is not None else st.sidebar
    rules = StageRules()
    box.subheader("Stage rules")
    for name in RULE_NAMES:
        rule = rules.rules[name]
        stage = rule.stage.replace("_", " ")
        with box.expander(f"{stage}: {rule.label}"):
            enabled = st.checkbox(
                "Rule on", value=rule.enabled, key=rule_key(name, "enabled"),
                bind="query-params",
            )
            count = st.slider(
                "At least (events)", 1, 20, rule.min_count,
                key=rule_key(name, "min_count"), disabled=not enabled,
                bind="query-params",
            )
            window = st.slider(
                "Within (days)", 1, 90, rule.window_days,
                key=rule_key(name, "window_days"), disabled=not enabled,
                bind="query-params",
            )
        rules = rules.with_rule(
            name, enabled=enabled, min_count=count, window_days=window
        )
    return rules


def load_preset(container) -> None:
    """The preset uploader: apply an uploaded rules JSON once, before the widgets."""
    upload = container.file_uploader(
        "Load a rules preset (JSON)", type=["json"], key="preset_load",
        help="A file saved with 'Save rules preset'.",
    )
    if upload is None:
        return
    data = upload.getvalue()
    digest = hashlib.blake2b(data, digest_size=12).hexdigest()
    if st.session_state.get(PRESET_APPLIED_KEY) == digest:
        return
    try:
        rules = StageRules.from_json(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        container.error(
            f"file {upload.name!r}: not a rules preset ({exc}). Save one with "
            "'Save rules preset' and load that file."
        )
        return
    rules_from_state(rules)
    st.session_state[PRESET_APPLIED_KEY] = digest
    container.success(f"Rules loaded from {upload.name}.")
