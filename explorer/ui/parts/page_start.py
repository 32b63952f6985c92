"""How every page begins: its title, a running lesson's step bar and the sidebar's "Add this
view as a step", then the sidebar's model, loaded, or one sentence saying why the page stops."""

from __future__ import annotations

import sys

import streamlit as st

from explorer import families
from explorer.errors import ExplorerError
from explorer.ui.parts import common, lesson_bar, lesson_maker


def start_page(title: str, needs_model: bool = True, needs: str | None = None,
               what: str | None = None, load: bool = True) -> common.Current | None:
    """How every page begins: its title, then (unless `needs_model` is False) the sidebar's
    model, loaded; a page whose model cannot be loaded, or cannot do what the page `needs`
    (a capability, see :func:`require`), says why and stops there. With `load` False the model
    is loaded when the page first asks for it (the map, drawn from kept codes, may not)."""
    st.title(title)
    page = lesson_bar.page_of(sys._getframe(1).f_globals.get("__file__"))  # the calling page
    lesson_bar.bar()  # a running lesson's step, Back and Next, under the title
    lesson_maker.recorder(page)  # the sidebar's "Add this view as a step"
    if not needs_model:
        return None
    cur = current()
    if cur is None:
        st.stop()
    if needs is not None:
        require(cur, needs, what or title)
    if load:
        _ = cur.model  # a model that cannot be loaded stops the page here, saying so
    return cur


ABILITY = {"encode": "turn an image into a code (it has no encoder)",
           "condition": "draw a class on demand", "sample": "make new images",
           "decode": "turn a code into an image"}


def require(cur: common.Current, capability: str, page: str) -> None:
    """Stop the page with one sentence, naming a model that can, when the model lacks
    `capability` ("encode", "decode", "sample", "condition")."""
    if families.of(cur.cfg).can(capability):
        return
    entries, _ = common.list_entries()
    able = [e.id for e in entries if families.of(e).can(capability)]
    suggestion = f" Pick one that can, such as **{able[0]}**, in the sidebar." if able else ""
    st.info(f"{page} needs a model that can {ABILITY[capability]}; "
            f"{cur.cfg.describe()} cannot.{suggestion}")
    st.stop()


def current() -> common.Current | None:
    """The sidebar's model; shows a readable message and returns None if there is none or its card
    cannot be read."""
    entry = st.session_state.get("_entry")
    if entry is None:
        st.info("Pick or train a model first (sidebar).")
        return None
    try:
        return common.Current(entry)
    except ExplorerError as e:
        st.error(f"This model could not be loaded: {e}")
        return None
