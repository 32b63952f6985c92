"""Every value a link puts in the URL, checked once per run before any page reads it.

A link is typed by anyone (``?train_epochs=100000``, ``?gen_seed=1e400``, ``?train_kind=foo``):
a value its widget would refuse crashes the page with Streamlit's generic error. So, in one
place, each query parameter is checked against the widget that will show it: the Train form's
fields (their bounds and options, from :mod:`explorer.ui.parts.train_form`), and for every other
parameter the rule every number box shares, a finite number of sensible size. A value that fails
is dropped from the URL, so its widget starts from its default; ranges that depend on the model
(a test image's index) are kept in range by :func:`keep_in_range` (below).
"""

from __future__ import annotations

import base64
import binascii
import logging
import math

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitAPIException

from explorer import families
from explorer.families import ARCHS

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
    if len(raw) > MAX_VALUE_CHARS:
        return False
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


def _unseed(keys: list[str]) -> None:
    """Keep dropped values from seeding their widgets: on a session's first run Streamlit seeds
    a bound widget from the URL as it arrived (``?sample_seed=1e400`` crashed the page opened
    directly on such a link), not from ``st.query_params`` after this check. Streamlit has no
    public call for it; without its internals the page still opens through the check at the
    next page switch."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    try:
        with ctx.session_state.query_params() as qp:
            for key in keys:
                qp._initial_query_params.pop(key, None)
    except AttributeError:  # another Streamlit, or no script run
        log.warning("could not keep dropped URL values from their widgets")


def check_query_params() -> list[str]:
    """Drop every query parameter its widget would refuse, no page reads (a foreign key) or
    too long for any widget (a pasted blob); returns the keys dropped, and says so in one
    sentence above the page."""
    keys = list(st.query_params.keys())
    known = rules() if any(k.startswith("train_") for k in keys) else {}
    ours = known_keys()
    dropped = []
    for key in keys:
        values = st.query_params.get_all(key)
        foreign = key not in ours and not key.startswith("train_")
        if foreign or not all(fits(key, v, known) for v in values):
            dropped.append(key)
            del st.query_params[key]
    if dropped:
        _unseed(dropped)
        log.info("dropped URL values no widget accepts: %s", ", ".join(d[:40] for d in dropped))
        from explorer import usertext

        names = ", ".join(usertext.md(d, 40) for d in dropped[:3]) + (
            f" and {len(dropped) - 3} more" if len(dropped) > 3 else "")
        note(f"This link held settings this page cannot use ({names}): it shows its own "
             "instead.")
    return dropped


# -- what a link carries ------------------------------------------------------------------------
# A link holds the view: the page and the values bound to its widgets (and the few a page keeps
# in the URL itself: the map's selection, the plane's clicked point). Never who is looking: a
# student's identity and the teacher key live in a cookie and the session, and neither
# presenter mode (the projector's look, not the view) nor a class code travels in a view's link.
MODEL = "model"
PAGE = "_view_page"  # session key: the page this run shows, by its name in the page table
SELECTION = "map_sel"  # the map's chosen test images, "3,103"
MAX_VALUE_CHARS = 2000  # no value is longer (10,000 selected images: 1,668); a longer one is
# a pasted blob, dropped
LISTED = 40  # a selection up to this long is written as its indices; a longer one as bits
NOT_VIEW = frozenset({"present", "code"})  # known to the app, never part of a view's link
STREAMLIT_OWN = frozenset({"embed", "embed_options"})  # Streamlit's own parameters, left alone
# Keys the pages keep in the URL beyond the lessons' view keys (explorer.lessons.catalogue).
EXTRA_KEYS: dict[str, tuple[str, ...]] = {
    "lessons": ("lesson_q",),
    "map": (SELECTION, "plane_at"),
    "interpolate": ("style_image", "sample_class"),
    "sample": ("sample_class",),
    "inside": ("unc_seed",),
    "generators": ("gen_dataset", "gen_seed"),
    "diffusion": ("ld_follow",),
    "draw": ("draw_source", "draw_map_method", "draw_example", "draw_pen"),
}
_NOTES = "_link_notes"
_SLOT = "_link_slot"  # (the place above the page for the notes, the sentences said there)


def view_keys(page: str) -> frozenset[str]:
    """The query parameters that make up page `page`'s view (the model's on every page)."""
    from explorer.lessons import VIEW_KEYS

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
    query = urlencode(link_params(page, params), doseq=True, safe="/,")
    path = PAGES[page].url_path or ""
    return f"{url.scheme}://{url.netloc}{folder}/{path}" + (f"?{query}" if query else "")


def selection_text(chosen) -> str:
    """The map's selection as a link writes it: up to LISTED indices as they are, in their order
    ("3,103"); more (a box or lasso, hundreds of points) as "~" and a bitmask of the test images
    in URL-safe base64, in ascending order, so that a link stays short enough for a QR code
    (1,000 test images: 168 characters). Pure."""
    chosen = [int(i) for i in chosen]
    if len(chosen) <= LISTED:
        return ",".join(map(str, chosen))
    bits = np.zeros(max(chosen) + 1, dtype=bool)
    bits[chosen] = True
    return "~" + base64.urlsafe_b64encode(np.packbits(bits).tobytes()).decode().rstrip("=")


def parse_selection(raw: str | None, n: int) -> tuple[list[int], int]:
    """A link's selection (see :func:`selection_text`) as test-image indices below `n`, without
    repeats; and how many of its parts were not such an index. Pure."""
    if not raw:
        return [], 0
    if raw.startswith("~"):
        try:
            data = base64.urlsafe_b64decode(raw[1:] + "=" * (-len(raw[1:]) % 4))
        except (ValueError, binascii.Error):
            return [], 1
        found = np.flatnonzero(np.unpackbits(np.frombuffer(data, dtype=np.uint8)))
        return found[found < n].tolist(), int((found >= n).sum())
    chosen: dict[int, None] = {}
    bad = 0
    for part in raw.split(","):
        try:
            i = int(part)
        except ValueError:
            bad += 1
            continue
        if 0 <= i < n:
            chosen.setdefault(i, None)
        else:
            bad += 1
    return list(chosen), bad


def in_link_order(chosen: list[int]) -> list[int]:
    """A selection in the order its link gives it back: a long one ascending."""
    return chosen if len(chosen) <= LISTED else sorted(chosen)


def selection(n: int) -> list[int]:
    """The map's selection a link holds (?map_sel=3,103), cut to this model's `n` test images;
    a part beyond them is left out, saying so."""
    chosen, bad = parse_selection(st.query_params.get(SELECTION), n)
    if bad:
        note(f"{bad} of the images this link selects are not among this model's {n:,} test "
             "images: they are left out.")
    return chosen


def keep_selection(chosen) -> None:
    """Keep the map's clicked selection in the URL, so that a copied link shows it."""
    text = selection_text(chosen)
    if text and st.query_params.get(SELECTION) != text:
        st.query_params[SELECTION] = text
    elif not text and SELECTION in st.query_params:
        del st.query_params[SELECTION]


def keep_model_in_link(ids, default: str) -> None:
    """Before the sidebar's model picker is drawn: the link's model if this server has it, else
    (saying so when the link named another) the default one, written into the URL so that every
    link names its model."""
    from explorer import usertext

    asked = st.query_params.get(MODEL)
    if st.session_state.get(MODEL) not in ids:
        if asked is not None and asked not in ids:
            note(f"The model in this link, {usertext.md(asked, 80)}, is not on this server: "
                 f"showing {usertext.md(default)} instead.")
        st.session_state[MODEL] = asked if asked in ids else default
    if asked != st.session_state[MODEL]:
        try:  # before its first drawing the picker is not yet bound: the URL may be written
            st.query_params[MODEL] = st.session_state[MODEL]
        except StreamlitAPIException:
            pass  # bound: the picker itself keeps the URL


def note(sentence: str) -> None:
    """Say, once, above the page, that a link's value could not be used (`sentence` is Markdown
    made by the app; a value from the link in it must go through explorer.usertext.md). Before
    :func:`show_notes` has made its place this run, the sentence waits there."""
    slot, shown = st.session_state.get(_SLOT, (None, []))
    if sentence in shown or sentence in st.session_state.get(_NOTES, []):
        return
    if slot is not None:
        try:
            slot.info(sentence, icon=":material/link_off:")
            shown.append(sentence)
            return
        except StreamlitAPIException:  # a fragment's rerun cannot write outside itself
            pass
    st.session_state.setdefault(_NOTES, []).append(sentence)


def show_notes() -> None:
    """Every run, once the sidebar is drawn: the place above the page where :func:`note` says
    what of a link could not be used, with what was noted so far."""
    st.session_state[_SLOT] = (st.container(), [])
    for sentence in st.session_state.pop(_NOTES, []):
        note(sentence)


def keep_in_range(key: str, lo: float, hi: float, fallback, parse=float) -> None:
    """Before drawing the URL-bound widget `key`, whose range [lo, hi] depends on the model: a
    value outside it (this session's, or the link's, read with `parse`) becomes `fallback`, so
    that switching models never leaves a widget with a value it refuses."""
    def fits(raw) -> bool:
        try:
            return lo <= parse(raw) <= hi
        except (TypeError, ValueError):
            return False

    if key in st.session_state:
        if not fits(st.session_state[key]):
            # Streamlit only logs that a widget's value was set from code; nothing is shown.
            st.session_state[key] = fallback
    elif (raw := st.query_params.get(key)) is not None and not fits(raw):
        st.session_state[key] = fallback  # a bound parameter is changed through its widget
        from explorer import usertext

        note(f"This link's {usertext.md(key, 40)} ({usertext.md(raw, 40)}) is beyond "
                        f"this model's data: the page shows {usertext.md(fallback, 40)} instead.")
