"""Lessons page: guided presets, each a few sentences and buttons that open the right page, model
and settings. The lessons themselves are plain data in :mod:`explorer.lessons.catalogue`.

"Open" clears the target page's remembered settings first, so a lesson opens exactly the view it
describes; the switch itself goes through :func:`explorer.ui.pages.open_page`.
"""

from functools import partial

import streamlit as st

from explorer.lessons import catalogue as lessons
from explorer.ui import pages
from explorer.ui.parts import common


def choose(view: lessons.View) -> None:
    """on_click of a lesson's button: forget the page's old settings, then open the view."""
    for key in lessons.keys_to_reset(view):
        st.session_state.pop(key, None)
    pages.open_page(view.page, lessons.query_params(view), model=view.model)


common.start_page("Lessons", needs_model=False)
st.caption("Each lesson opens a page with the right model and settings. Read the few sentences "
           "aloud, press **Open**, and talk about what you see. The address bar then holds a "
           "link to that exact view: send it to your students.")

entries, _ = common.list_entries()
by_id = {e.id: e for e in entries}


def kl_line(ids: tuple[str, ...]) -> str:
    parts = []
    for i in ids:
        kl = by_id[i].card.get("metrics", {}).get("kl") if i in by_id else None
        if isinstance(kl, int | float):
            parts.append(f"{by_id[i].name}: **{kl:.1f} nats**")
    return "Rate (total KL) on the test set — " + " · ".join(parts) if parts else ""




@st.cache_data(show_spinner="Exporting the lesson: its decoders to ONNX, its maps and pictures…",
               max_entries=2)
def homework_zip(slug: str) -> bytes:
    from explorer.lessons.homework import bundle_zip

    return bundle_zip(slug)


def homework_problem() -> str | None:
    from explorer.lessons.homework import unavailable

    return unavailable()


problem = homework_problem()
columns = st.columns(2, gap="medium")
for n, item in enumerate(lessons.LESSONS):
    with columns[n % 2].container(border=True):
        st.subheader(item.title)
        st.markdown(item.text)
        if line := kl_line(item.kl_of):
            st.markdown(line)
        if item.try_this:
            # dark text, not a grey caption: the prompt is what the room reads off the projector
            st.markdown(f":material/lightbulb: **Try this:** {item.try_this}")
        missing = sorted({v.model for v in item.views if v.model and v.model not in by_id})
        with st.container(horizontal=True, gap="small"):
            for i, view in enumerate(item.views):
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
        if any(v.model for v in item.views):
            st.download_button(
                "Homework page (.zip)", partial(homework_zip, item.slug),
                file_name=f"{item.slug}-homework.zip", mime="application/zip",
                key=f"homework_{item.slug}", icon=":material/download:", on_click="ignore",
                disabled=bool(missing or problem),
                help="A static page for students at home: unzip it and open index.html. Its "
                     "maps and decoders run in the browser, with no server and no network.")
            if problem and not missing:
                st.caption(problem)
        if missing:
            st.caption("Needs the shipped model(s) " + ", ".join(f"`{m}`" for m in missing)
                       + ": run `python -m explorer pretrain` to rebuild them.")
