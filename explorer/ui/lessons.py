"""Lessons page: guided presets, each a few sentences and buttons that open the right page, model
and settings. The lessons themselves are plain data in :mod:`explorer.lessons`.

"Open" goes through a callback, because the sidebar's model picker is bound to the URL: its value
can only be set before it is drawn (a callback runs first), and ``st.switch_page`` may not write a
bound parameter. The callback also clears the target page's remembered settings, so a lesson opens
exactly the view it describes.
"""

from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

from explorer import lessons
from explorer.ui import common

ROOT = Path(__file__).resolve().parents[2]
SIDEBAR_KEYS = ("model", "present")  # bound on every page; set through session state instead


def choose(view: lessons.View) -> None:
    """on_click of a lesson's button: set the model, forget the page's old settings, and leave
    the switch to the page body (a callback cannot switch pages)."""
    for key in lessons.keys_to_reset(view):
        st.session_state.pop(key, None)
    params = lessons.query_params(view)
    if view.model:
        st.session_state["model"] = view.model
    st.session_state["lesson_target"] = (
        view.page, {k: v for k, v in params.items() if k not in SIDEBAR_KEYS})


st.title("Lessons")
if (target := st.session_state.pop("lesson_target", None)) is not None:
    page, params = target
    try:
        st.switch_page(page, query_params=params)
    except StreamlitAPIException as e:  # e.g. a page this version of the app does not have
        st.error(f"That view could not be opened: {e}")

st.caption("Each lesson opens a page with the right model and settings. Read the few sentences "
           "aloud, press **Open**, and talk about what you see. The address bar then holds a "
           "link to that exact view: send it to your students.")

entries, _ = common.list_entries()
by_id = {e.id: e for e in entries}
pages = {page for page in {v.page for item in lessons.LESSONS for v in item.views}
         if (ROOT / page).is_file()}


def kl_line(ids: tuple[str, ...]) -> str:
    parts = []
    for i in ids:
        kl = by_id[i].card.get("metrics", {}).get("kl") if i in by_id else None
        if isinstance(kl, int | float):
            parts.append(f"{by_id[i].name}: **{kl:.1f} nats**")
    return "Total KL on the test set — " + " · ".join(parts) if parts else ""


columns = st.columns(2, gap="medium")
for n, item in enumerate(lessons.LESSONS):
    views = lessons.available_views(item, pages)
    with columns[n % 2].container(border=True):
        st.subheader(item.title)
        st.markdown(item.text)
        if line := kl_line(item.kl_of):
            st.markdown(line)
        if item.try_this:
            st.caption(f"Try this: {item.try_this}")
        missing = sorted({v.model for v in views if v.model and v.model not in by_id})
        with st.container(horizontal=True, gap="small"):
            for i, view in enumerate(views):
                st.button(
                    "Open" if i == 0 else view.label,
                    key=f"lesson_{item.slug}_{i}",
                    type="primary" if i == 0 else "secondary",
                    icon=":material/play_arrow:" if i == 0 else None,
                    help=view.label if i == 0 else None,
                    on_click=choose,
                    args=(view,),
                    disabled=bool(view.model and view.model not in by_id),
                )
        if missing:
            st.caption("Needs the shipped model(s) " + ", ".join(f"`{m}`" for m in missing)
                       + ": run `python -m explorer pretrain` to rebuild them.")
