"""Every value a link puts in the URL, checked once per run before any page reads it.

A link is typed by anyone (``?train_epochs=100000``, ``?gen_seed=1e400``, ``?train_kind=foo``):
a value its widget would refuse crashes the page with Streamlit's generic error. So, in one
place, each query parameter is checked against the widget that will show it: the Train form's
fields (their bounds and options, from :mod:`explorer.ui.parts.train_form`), and for every other
parameter the rule every number box shares, a finite number of sensible size. A value that fails
is dropped from the URL, so its widget starts from its default; ranges that depend on the model
(a test image's index) are kept in range by :func:`explorer.ui.parts.common.keep_in_range`.
"""

from __future__ import annotations

import logging
import math

import streamlit as st

from explorer import families
from explorer.families.config import ARCHS

log = logging.getLogger(__name__)

LARGEST = 2**53  # past this a float no longer holds every whole number, and no widget goes there


def rules() -> dict:
    """Parameter -> (lo, hi) for a number, a tuple of the options it may take, or the most
    characters a text box takes. (Imports the Train form, and with it torch: ask only when a
    link holds the form's values.)"""
    from explorer.ui.parts.train_form import FIELDS, RUN_NAME

    found: dict = {"train_kind": families.names(base_run=None), "train_arch": tuple(ARCHS)}
    for field in FIELDS:
        if field.options:
            found[field.key] = tuple(field.options)
        elif field.lo is not None:
            found[field.key] = (field.lo, field.hi if field.hi is not None else LARGEST)
        else:
            found[field.key] = field.max_chars or 200  # a text box: hidden sizes
    found[RUN_NAME.key] = RUN_NAME.max_chars
    return found


def _number(raw: str) -> float | None:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def fits(key: str, raw: str, known: dict) -> bool:
    rule = known.get(key)
    if isinstance(rule, int):
        return len(raw) <= rule
    if isinstance(rule, tuple) and rule and isinstance(rule[0], str):
        return raw in rule
    value = _number(raw)
    if rule is not None:
        lo, hi = rule
        return value is not None and math.isfinite(value) and lo <= value <= hi
    # Any other parameter: text is its widget's business, but a number must be one a number
    # box can hold (1e400 is inf, and int(inf) raises inside Streamlit).
    return value is None or (math.isfinite(value) and abs(value) <= LARGEST)


def check_query_params() -> list[str]:
    """Drop every query parameter its widget would refuse; returns the keys dropped."""
    keys = list(st.query_params.keys())
    known = rules() if any(k.startswith("train_") for k in keys) else {}
    dropped = []
    for key in keys:
        values = st.query_params.get_all(key)
        if not all(fits(key, v, known) for v in values):
            dropped.append(key)
            del st.query_params[key]
    if dropped:
        log.info("dropped URL values no widget accepts: %s", ", ".join(dropped))
    return dropped
