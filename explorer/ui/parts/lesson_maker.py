"""A teacher's own lessons: "Add this view as a step" in the sidebar of every page, then on the
Lessons page a title, tags and a JSON file to download; and the import of such a file, checked by
:func:`explorer.lessons.lesson_file.read` (refused, or its bad parts dropped, with a sentence).

The draft and the imported lessons live in this browser session only; the file is what is kept
and shared. Everything a file brings is shown as text (:mod:`explorer.usertext`).
"""

from __future__ import annotations

import streamlit as st

from explorer import lessons, usertext
from explorer.lessons import SIDEBAR_ONLY, Lesson, Step
from explorer.ui import pages
from explorer.ui.parts import lesson_bar

DRAFT = "_lesson_draft"  # list[Step]: the views a teacher has added so far
MINE = "_lessons_mine"  # list[Lesson]: lessons imported in this session
NOT_A_VIEW = ("lessons", "join", "teacher")  # pages whose state is nobody's view to show a class


def draft() -> list[Step]:
    return st.session_state.setdefault(DRAFT, [])


def mine() -> list[Lesson]:
    return st.session_state.setdefault(MINE, [])


def add_step(page: str) -> None:
    """on_click of "Add this view as a step": the page, its URL query (the view a link carries),
    the model shown, the prompt typed and the minutes."""
    view = {k: v for k, v in st.query_params.to_dict().items() if k not in SIDEBAR_ONLY}
    if (model := st.session_state.get("model")) and isinstance(model, str):
        view["model"] = model  # the sidebar's model, even where the URL leaves a default out
    steps = draft()
    steps.append(Step(page=page, view=view,
                      prompt=st.session_state.get("draft_prompt", "").strip()[
                          :lessons.MAX_PROMPT],
                      minutes=float(st.session_state.get("draft_minutes", 3.0)),
                      label=pages.PAGES[page].title))
    st.session_state["draft_prompt"] = ""
    st.toast(f"Step {len(steps)} added: {pages.PAGES[page].title}.", icon=":material/add:")


def recorder(page: str | None) -> None:
    """The sidebar's "Make a lesson" box on every page: a prompt, minutes, and the button."""
    steps = draft()
    with st.sidebar.expander(f"Make a lesson ({len(steps)} steps)" if steps else "Make a lesson",
                             icon=":material/playlist_add:"):
        if page is None or page in NOT_A_VIEW:
            st.caption("Open a page and set it up as the class should see it, then add it here "
                       "as a step.")
        else:
            st.text_area("What the class looks at here", key="draft_prompt", height=80,
                         help=lessons.help("What the class looks at here"),
                         max_chars=lessons.MAX_PROMPT,
                         placeholder="e.g. Which digits sit between the clusters?")
            st.number_input("Minutes", 0.5, float(lessons.MAX_MINUTES), 3.0, 0.5,
                            key="draft_minutes", help=lessons.help("Minutes"))
            st.button("Add this view as a step", key="draft_add", icon=":material/add:",
                      on_click=add_step, args=(page,),
                      disabled=len(steps) >= lessons.MAX_STEPS)
        if steps:
            st.page_link(pages.path("lessons"), label="Name and save it on Lessons",
                         icon=":material/save:")


def draft_lesson(title: str, tags: str) -> Lesson:
    title = title.strip()[:lessons.MAX_TITLE] or "My lesson"
    tag_list = tuple(dict.fromkeys(t.strip()[:lessons.MAX_TAG] for t in tags.split(",")
                                   if t.strip()))[:lessons.MAX_TAGS]
    return Lesson(slug="mine-" + lessons.slug_of(title), title=title, text="",
                  steps=tuple(draft()), tags=tag_list)


def remove_step(i: int) -> None:
    steps = draft()
    if 0 <= i < len(steps):
        steps.pop(i)


def draft_section() -> None:
    """On the Lessons page: the draft's steps, its title and tags, Download, Start and Clear."""
    steps = draft()
    if not steps:
        return
    with st.container(border=True, key="draft_box"):
        st.subheader("Your new lesson")
        c1, c2 = st.columns(2)
        title = c1.text_input("Title", key="draft_title", max_chars=lessons.MAX_TITLE,
                              placeholder="My lesson")
        tags = c2.text_input("Tags (commas between)", key="draft_tags",
                             placeholder="AE vs VAE, β")
        for i, step in enumerate(steps):
            with st.container(horizontal=True, vertical_alignment="center", gap="small"):
                st.markdown(f"{i + 1}\\. **{usertext.md(step.label, 60)}** · "
                            f"{lesson_bar.minutes(step.minutes)} · "
                            f"{usertext.md(step.prompt or '(no prompt)', 160)}", width="stretch")
                st.button("Remove", key=f"draft_remove_{i}", type="tertiary",
                          icon=":material/delete:", on_click=remove_step, args=(i,))
        lesson = draft_lesson(title, tags)
        with st.container(horizontal=True, gap="small"):
            st.download_button("Download the lesson (.json)", lessons.lesson_json(lesson),
                               file_name=f"{lessons.slug_of(lesson.title)}.json",
                               mime="application/json", key="draft_download",
                               icon=":material/download:", on_click="ignore", type="primary")
            st.button("Start it", key="draft_start", icon=":material/play_arrow:",
                      on_click=lesson_bar.start, args=(lesson,))
            st.button("Clear", key="draft_clear", type="tertiary",
                      on_click=lambda: st.session_state.pop(DRAFT, None))


def import_file(data: bytes) -> Lesson | None:
    """Read an uploaded lesson file; say why it was refused, or what was dropped from it."""
    try:
        lesson, notes = lessons.read_lesson(data, pages.PAGES)
    except lessons.LessonFileError as e:
        st.error(str(e), icon=":material/block:")
        return None
    for note in notes:
        st.warning(note, icon=":material/filter_alt_off:")
    return lesson


def import_section() -> None:
    """An uploader for a lesson file; a good one joins this session's lessons."""
    with st.expander("Import a lesson (.json)", icon=":material/upload_file:"):
        st.caption(f"A lesson file saved from this page: at most {lessons.MAX_BYTES // 1024} "
                   f"KB and {lessons.MAX_STEPS} steps. Its text is shown as typed, never "
                   "run.")
        upload = st.file_uploader("Lesson file", type=["json"], key="lesson_import",
                                  max_upload_size=1)
        if upload is None:
            return
        lesson = import_file(upload.getvalue())
        if lesson is None:
            return
        kept = mine()
        if all(item.slug != lesson.slug for item in kept):
            kept.append(lesson)
        else:
            kept[:] = [lesson if item.slug == lesson.slug else item for item in kept]
        st.success(f"Imported “{usertext.md(lesson.title, 80)}”: {len(lesson.steps)} steps, "
                   f"{lesson_bar.minutes(lesson.minutes)}. It is listed below.")
