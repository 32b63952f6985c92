"""A running lesson: the bar at the top of whatever page it opens (the step's prompt at projector
contrast, step k of n, its suggested time, Back / Next / End), and the callbacks that move between
steps. Drawn by :func:`explorer.ui.parts.page_start.start_page` on every page.

A step opens like a shared link: the target page's view settings are cleared, then its page
opens with the step's query (:func:`explorer.ui.pages.open_page`); every value then passes the
one URL check (:mod:`explorer.ui.parts.url_values`). The lesson's text, prompts and questions may
come from a file anybody wrote, so they are shown as text (:mod:`explorer.usertext`), never as
Markdown or HTML.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from explorer import lessons, usertext
from explorer.lessons import MAX_PROMPT, MAX_TITLE, Lesson, Step
from explorer.ui import pages

RUNNING = "_lesson_run"  # {"lesson": Lesson, "step": int}: the lesson on the projector, if any
# Our own constant CSS: dark text on a pale ground (projector contrast whatever the theme), tight
# spacing so the page's first chart stays on a 1024×768 screen (the page's title a little smaller
# while the bar is there, to give back some of its height), the prompt a little larger.
BAR_CSS = """<style>
.st-key-lesson_bar { background: #fff8db; border: 2px solid #8a6d00; border-radius: 0.5rem;
  padding: 0.2rem 0.6rem 0.35rem; gap: 0; }
.st-key-lesson_bar p, .st-key-lesson_bar strong { color: #111 !important; }
.st-key-lesson_bar_row { flex-wrap: nowrap !important; }
.st-key-lesson_bar_row > div:first-child { min-width: 0; flex: 1 1 auto; }
.st-key-lesson_bar_row p { font-size: 0.9rem !important; }
.st-key-lesson_prompt p { font-size: 1.12rem !important; font-weight: 500; line-height: 1.3; }
.st-key-lesson_bar button { padding-top: 0; padding-bottom: 0; min-height: 1.9rem; }
h1 { font-size: min(2.6rem, 44px) !important; }
</style>"""


def page_of(script: str | None) -> str | None:
    """The page-table name of a page script (its ``__file__``), e.g. "interpolate"."""
    name = Path(script or "").name
    return next((key for key, spec in pages.PAGES.items() if spec.file == name), None)


def running() -> tuple[Lesson, int] | None:
    run = st.session_state.get(RUNNING)
    if not run:
        return None
    lesson, k = run["lesson"], run["step"]
    return (lesson, k) if 0 <= k < len(lesson.steps) else None


def _release(keys) -> None:
    """Forget these widgets' values and let the URL set them again. A widget bound to the URL on
    the page now shown owns its query parameter, and Streamlit refuses a switch that sets it (Next
    from one step to the next on the same page); so its value and its binding go, and the widget
    binds again, seeded from the step's query, when the page draws it. Of the step's own keys,
    only those bound to a widget are touched: a file's view names nothing else of the session.
    (Streamlit has no public call for unbinding in 1.67.)"""
    from streamlit.runtime.state.session_state_proxy import get_session_state

    with get_session_state().query_params() as qp:
        for key in keys:
            if (binding := qp.get_binding_for_param(key)) is not None:
                st.session_state.pop(key, None)
                qp.unbind_widget(binding.widget_id)


def open_step(step: Step) -> None:
    """on_click: forget the page's old view settings, then open the step's page and view."""
    for key in lessons.keys_to_reset(step):
        st.session_state.pop(key, None)
    _release((*lessons.keys_to_reset(step), *(k for k in step.view if k != "model")))
    pages.open_page(step.page, lessons.query_params(step), model=step.model)


def start(lesson: Lesson, k: int = 0) -> None:
    """on_click of a lesson's Start (or one of its steps): run it from step `k`."""
    st.session_state[RUNNING] = {"lesson": lesson, "step": k}
    open_step(lesson.steps[k])


def go(k: int) -> None:
    """on_click of Back / Next: step `k` of the running lesson."""
    if (now := running()) is not None and 0 <= k < len(now[0].steps):
        start(now[0], k)


def end() -> None:
    st.session_state.pop(RUNNING, None)


def minutes(value: float) -> str:
    return f"{value:g} min"


def question_line(question: lessons.Question) -> str:
    """A step's question as one line of escaped text, its options lettered."""
    line = f"**Ask the class** ({question.kind}): {usertext.md(question.prompt, MAX_PROMPT)}"
    if question.options:
        line += " — " + " · ".join(f"({chr(65 + i)}) {usertext.md(o, 120)}"
                                   for i, o in enumerate(question.options))
    return line


def bar() -> None:
    """The running lesson's bar, under the page's title; nothing when no lesson runs."""
    if (now := running()) is None:
        return
    lesson, k = now
    step, n = lesson.steps[k], len(lesson.steps)
    st.html(BAR_CSS)
    with st.container(key="lesson_bar", gap="small"):
        with st.container(horizontal=True, vertical_alignment="center", gap="small",
                          key="lesson_bar_row", wrap=False):
            st.markdown(f":material/school: **step {k + 1} of {n}** · {minutes(step.minutes)} · "
                        f"{usertext.md(lesson.title, MAX_TITLE)}", width="stretch")
            st.button("Back", key="lesson_back", icon=":material/arrow_back:", disabled=k == 0,
                      on_click=go, args=(k - 1,))
            st.button("Next", key="lesson_next", icon=":material/arrow_forward:", type="primary",
                      disabled=k == n - 1, on_click=go, args=(k + 1,))
            if step.question is not None:  # folded: one button, not two more lines
                with st.popover("Question", icon=":material/quiz:", key="lesson_question"):
                    st.markdown(question_line(step.question))
                    from explorer.ui.parts import class_questions  # the class's store, lazily

                    class_questions.ask_from_lesson(step.question.as_dict(), f"lesson_ask_{k}")
            st.button("End", key="lesson_end", type="tertiary", on_click=end,
                      help="Close the lesson bar; the page stays as it is.")
        if step.prompt:
            with st.container(key="lesson_prompt"):
                st.markdown(usertext.md(step.prompt, MAX_PROMPT))
        if step.model and st.session_state.get("model") != step.model and missing(step.model):
            st.caption(f"This step shows the model {usertext.md(step.model, 80)}, which is not "
                       "on this server; the page shows the sidebar's model instead.")


def missing(model: str) -> bool:
    """Whether no model of this id is here (asked only when the sidebar shows another)."""
    from explorer import runs

    return model not in {e.id for e in runs.list_models()[0]}
