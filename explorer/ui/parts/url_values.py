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

    found: dict = {"train_kind": families.names(), "train_arch": tuple(ARCHS)}
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


# -- what a link carries ------------------------------------------------------------------------
# A link holds the view: the page and the values bound to its widgets (and the few a page keeps
# in the URL itself: the map's selection, the plane's clicked point). Never who is looking: a
# student's identity and the teacher key live in a cookie and the session, and neither
# presenter mode (the projector's look, not the view) nor a class code travels in a view's link.
MODEL = "model"
PAGE = "_view_page"  # session key: the page this run shows, by its name in the page table
SELECTION = "map_sel"  # the map's chosen test images, "3,103"
MAX_VALUE_CHARS = 1000  # no widget's value is longer; a longer one is a pasted blob, dropped
MAX_SELECTION = 64  # test images a link's selection may name
NOT_VIEW = frozenset({"present", "code"})  # known to the app, never part of a view's link
STREAMLIT_OWN = frozenset({"embed", "embed_options"})  # Streamlit's own parameters, left alone
# Keys the pages keep in the URL beyond the lessons' view keys (explorer.lessons.catalogue).
EXTRA_KEYS: dict[str, tuple[str, ...]] = {
    "map": (SELECTION, "plane_at"),
    "interpolate": ("style_image", "sample_class"),
    "sample": ("sample_class",),
    "generators": ("gen_dataset", "gen_seed"),
    "diffusion": ("ld_follow",),
    "draw": ("draw_source", "draw_map_method", "draw_example", "draw_pen"),
}
_NOTES = "_link_notes"


def view_keys(page: str) -> frozenset[str]:
    """The query parameters that make up page `page`'s view (the model's on every page)."""
    from explorer.lessons.catalogue import VIEW_KEYS

    return frozenset((MODEL, *VIEW_KEYS.get(page, ()), *EXTRA_KEYS.get(page, ())))


def known_keys() -> frozenset[str]:
    """Every query parameter some page reads; the Train form's (``train_*``) are checked apart."""
    from explorer.ui.pages import PAGES

    return frozenset().union(*(view_keys(p) for p in PAGES)) | NOT_VIEW | STREAMLIT_OWN


def link_params(page: str, query: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
    """`query` (a URL's parameters) cut to what a link to `page`'s view carries: its view keys
    only, so no identity, teacher key, class code, presenter switch or foreign key; pure."""
    keys = view_keys(page)
    out = {}
    for key, value in query.items():
        if key in keys or (page == "train" and key.startswith("train_")):
            values = [value] if isinstance(value, str) else list(value)
            values = [v for v in values if len(v) <= MAX_VALUE_CHARS]
            if values:
                out[key] = values[0] if len(values) == 1 else values
    return out


def view_of_session() -> tuple[str, dict[str, str | list[str]]]:
    """The view this session shows: (page name in the page table, the query parameters a link
    to it carries), the model always among them. What "Copy link" and the QR code hold, and what
    "Class follows me" mirrors; it never holds a student's identity, the teacher key, a class
    code or presenter mode. Call it after the sidebar is drawn (it records the page and model);
    the values are the browser URL's at the start of this run."""
    page = st.session_state.get(PAGE, "map")
    query = {k: st.query_params.get_all(k) for k in st.query_params.keys()}
    params = link_params(page, query)
    model = st.session_state.get(MODEL) or params.get(MODEL)
    params.pop(MODEL, None)
    return page, ({MODEL: model} if model else {}) | params


def link_of(page: str, params: dict[str, str | list[str]], base_url: str | None = None) -> str:
    """The full address of `page` with `params`, on this server (``st.context.url``)."""
    from urllib.parse import urlencode, urlsplit

    from explorer.ui.pages import PAGES

    url = urlsplit(base_url or st.context.url or "http://localhost:8501/")
    folder = url.path.rsplit("/", 1)[0]
    query = urlencode(link_params(page, params), doseq=True)
    path = PAGES[page].url_path or ""
    return f"{url.scheme}://{url.netloc}{folder}/{path}" + (f"?{query}" if query else "")


def note(sentence: str) -> None:
    """Say once, above the page, that a link's value could not be used (`sentence` is Markdown
    made by the app; a value from the link in it must go through explorer.usertext.md)."""
    notes = st.session_state.setdefault(_NOTES, [])
    if sentence not in notes:
        notes.append(sentence)


def show_notes() -> None:
    """The sentences :func:`note` collected this run, each once, as plain info."""
    for sentence in st.session_state.pop(_NOTES, []):
        st.info(sentence, icon=":material/link_off:")
