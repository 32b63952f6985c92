"""Lessons page: find a lesson by words or tags, read its steps, Start it (the lesson bar then
leads the class from page to page); make your own from the views you add, download it as JSON,
import one. The shipped lessons are plain data in :mod:`explorer.lessons.catalogue`.
"""

from functools import partial

import streamlit as st

from explorer import lessons, usertext
from explorer.ui import pages
from explorer.ui.parts import common, lesson_bar, lesson_maker, page_start

page_start.start_page("Lessons", needs_model=False)
st.caption("Find a lesson, press **Start**, and the lesson bar leads you step by step: each step "
           "opens its page and view, with a prompt to read to the room. To make your own, set "
           "up a page and press **Add this view as a step** in the sidebar's *Make a lesson*.")

entries, _ = common.list_entries()
by_id = {e.id: e for e in entries}
shipped = {item.slug for item in lessons.LESSONS}

search_row = st.container()  # drawn first, filled once an imported lesson has joined the list
lesson_maker.draft_section()
lesson_maker.import_section()
everything = [*lesson_maker.mine(), *lessons.LESSONS]

c1, c2 = search_row.columns([3, 2])
query = c1.text_input("Search", key="lesson_q", bind="query-params", icon=":material/search:",
                      help=lessons.help("Search"),
                      placeholder="e.g. AE vs VAE latent space", max_chars=200)
chosen = c2.pills("Tags", lessons.all_tags(everything), selection_mode="multi",
                  key="lesson_tags")
found, every_word = lessons.search_lessons(everything, query or "", chosen or ())
if query and not found:
    st.info("No lesson has any of those words; try fewer, or another tag.")
elif query and not every_word:
    st.caption("No lesson has all of those words; these have the most of them.")


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
    from explorer.lessons import homework_zip

    return homework_zip(slug)


def homework_problem() -> str | None:
    from explorer.lessons import homework_unavailable

    return homework_unavailable()


def steps_list(item: lessons.Lesson) -> None:
    """The steps, each a button that starts the lesson there, and its prompt as plain text (a
    file's prompts are never Markdown)."""
    for k, step in enumerate(item.steps):
        label = step.label or pages.PAGES[step.page].title
        st.button(f"{k + 1}. {usertext.md(label, 60)}", key=f"lesson_{item.slug}_{k}", type="tertiary",
                  on_click=lesson_bar.start, args=(item, k),
                  disabled=bool(step.model and step.model not in by_id))
        st.caption(f"{lesson_bar.minutes(step.minutes)} · {usertext.md(step.prompt, 300)}")


problem = homework_problem()
columns = st.columns(2, gap="medium")
for n, item in enumerate(found):
    own = item.slug not in shipped
    with columns[n % 2].container(border=True, key=f"lesson_card_{item.slug}"):
        st.subheader(usertext.md(item.title, 120) if own else item.title)
        st.caption(" · ".join([*(usertext.md(t, 30) for t in item.tags),
                               f"{len(item.steps)} steps", f"about {item.minutes:g} min"]))
        if item.text:
            st.markdown(usertext.md(item.text, 2000) if own else item.text)
        if line := kl_line(item.kl_of):
            st.markdown(line)
        missing = sorted({m for m in item.models() if m not in by_id})
        st.button("Start", key=f"lesson_start_{item.slug}", type="primary",
                  icon=":material/play_arrow:", on_click=lesson_bar.start, args=(item,),
                  disabled=bool(item.steps[0].model and item.steps[0].model not in by_id))
        with st.expander(f"The {len(item.steps)} steps"):
            steps_list(item)
        if item.models() and not own:
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
            st.caption("Needs the model(s) " + ", ".join(usertext.md(m, 80) for m in missing)
                       + ": run `python -m explorer pretrain` to rebuild the shipped ones.")
