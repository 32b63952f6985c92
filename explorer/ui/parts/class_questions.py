"""Predict, then reveal, on screen: the teacher asks the class a question (a ready one whose true
answer the app computes, or their own), students answer on whatever page they are on, and the
teacher reveals the class's answers beside the true one.

A student's screen looks for the class's live question in the same fragment as its follow check
(explorer.ui.parts.class_follow: every 3 s, twice a second while the class follows the teacher;
on the Join page, its own fragment every POLL_S seconds);
the students of a class share one read of its id and state per second (a query of two columns);
the question itself is read once per id, the answers once at the reveal. Questions, options and
names are a user's text: shown as text.
"""

from __future__ import annotations

import statistics

import streamlit as st

from explorer import analysis, classroom
from explorer.classroom import (
    KINDS,
    OPTION_MAX,
    PROMPT_MAX,
    ClassError,
    QuestionError,
    QuestionSpec,
    parse_question,
)
from explorer.errors import ExplorerError
from explorer.figures import questions as figures
from explorer.ui.parts import class_parts, common, polling
from explorer.usertext import md

POLL_S = 2.5  # a student's screen looks for a new question or a reveal this often
SHARED_S = 1.0  # the students of a class share one read of the live question per second
TEACHER_POLL_S = 1.0  # the teacher's count of answers, while a question is open
QUIET_POLL_S = 3.0  # the teacher's screens otherwise (a question may be asked from another tab)
_SEEN = "_question_{}"  # session keys: a question read once per id
_MINE = "_question_{}_mine"
_RESULTS = "_question_{}_results"
_CLASS = "_question_class"  # the class this student's panel polls


def panel(page_path: str, student_looks: bool = False) -> None:
    """On every page: a student in a class sees the live question; a teacher with a class open
    sees its count of answers and can reveal (the Teacher page has its own, fuller section).
    `student_looks`: the student's follow check (class_follow.bar) already draws the question in
    its own fragment, so one timed rerun looks for both."""
    store = class_parts._quiet_store()  # no class database: nothing to ask, nothing to show
    if store is None:
        return
    try:
        if class_parts.token() and (student := class_parts.current_student(store)):
            st.session_state[_CLASS] = student.class_id
            if not student_looks:
                _student_panel()
        elif page_path != "teacher" and (klass := class_parts.chosen_class(store)) and \
                class_parts.is_teacher(store):
            polling.fragment("question_panel", _teacher_period(store, klass.id), _teacher_panel,
                             klass.id)
        elif page_path == "join":  # joins during this run: the panel must be there already
            st.session_state.pop(_CLASS, None)
            _student_panel()
    except ClassError as e:  # the database is busy or gone: one sentence, the page goes on
        st.caption(str(e))


def ask_class(store, class_id: int, spec: QuestionSpec | dict, key: str | None,
              caller: str = "") -> classroom.QuestionInfo:
    """Ask the class `spec` (a dict in the question shape, e.g. a lesson step's question): its
    true answer computed by the app when it names a ready truth, else the stated answer. Raises
    QuestionError or ClassError with a sentence."""
    spec = parse_question(spec)
    truth = None
    if spec.truth is not None:
        with st.spinner("Computing the true answer from the shipped models…"):
            truth = classroom.true_answer(spec)
    asked = classroom.ask(store, class_id, spec, truth=truth, key=key, caller=caller)
    _live_shared.clear()  # this server's students see it at their next look
    return asked


def _question(store, question_id: int) -> classroom.QuestionInfo | None:
    key = _SEEN.format(question_id)
    if st.session_state.get(key) is None:  # a question never changes once asked
        st.session_state[key] = classroom.get_question(store, question_id)
    return st.session_state[key]


def _student_class(store) -> int | None:
    """This student's class (looked up once, when they join on the Join page)."""
    if _CLASS not in st.session_state and class_parts.token():
        student = store.student(class_parts.token())
        if student is not None:
            st.session_state[_CLASS] = student.class_id
    return st.session_state.get(_CLASS)


@st.cache_data(ttl=SHARED_S, max_entries=64, show_spinner=False)
def _live_shared(class_id: int) -> tuple[int, str] | None:
    """The class's live question, read at most once a SHARED_S by all its students together."""
    store = class_parts._quiet_store()
    return classroom.live_question(store, class_id) if store is not None else None


@st.fragment(run_every=POLL_S)
def _student_panel() -> None:
    """The live question on the Join page, where a student joins during the run that draws it
    (elsewhere the follow check's fragment draws it: one look for both)."""
    store = class_parts._quiet_store()
    if store is None or (class_id := _student_class(store)) is None:
        return
    student_question(store, class_id)


def student_question(store, class_id: int) -> None:
    """The class's live question on a student's screen: the answer form while it is open, the
    class's answers once revealed; nothing while there is none."""
    try:
        live = _live_shared(class_id)
        if live is None:
            return
        question = _question(store, live[0])
        if question is None:
            return
        with st.container(border=True, key="class_question"):
            st.markdown(f"**Question from your teacher:** {md(question.spec.prompt, PROMPT_MAX)}")
            if live[1] == "open":
                _answer_form(store, question)
            else:
                _results(store, question, mine=_mine(store, question.id))
    except ClassError as e:
        st.caption(str(e))


def _mine(store, question_id: int):
    key = _MINE.format(question_id)
    if key not in st.session_state:  # after a reload: what this student answered before
        st.session_state[key] = classroom.my_answer(store, question_id, class_parts.token())
    return st.session_state[key]


def _send(store, question: classroom.QuestionInfo, raw) -> None:
    try:
        st.session_state[_MINE.format(question.id)] = classroom.answer(store, question.id,
                                                               class_parts.token(), raw)
    except ClassError as e:
        st.error(str(e))


def _answer_form(store, question: classroom.QuestionInfo) -> None:
    spec, qid = question.spec, question.id
    if spec.kind == "click":
        event = st.plotly_chart(_click_figure(spec.model), key=f"question_{qid}_click",
                                on_select="rerun", selection_mode="points")
        point = analysis.clicked_position((event or {}).get("selection"))
        if point is not None and list(point) != _mine(store, qid):
            _send(store, question, list(point))
        st.caption("Click where you think the answer lies; click again to change it.")
    else:
        with st.form(f"question_{qid}_form", border=False):
            if spec.kind == "choice":
                # A radio's options are Markdown (links, images): the teacher's text, escaped.
                raw = st.radio("Your answer", spec.options, index=None, key=f"question_{qid}_pick",
                               format_func=lambda o: md(o, OPTION_MAX))
            else:
                raw = st.text_input("Your answer (a number)", key=f"question_{qid}_number",
                                    max_chars=30)
            if st.form_submit_button("Send my answer", type="primary"):
                _send(store, question, raw)
    mine = _mine(store, qid)
    if mine is not None:
        st.success(f"Answer received: {md(_shown(mine))}. You may change it until your teacher "
                   "reveals the answers.", icon=":material/check_circle:")


def _shown(value) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(f"{float(v):.2f}" for v in value) + ")"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@st.cache_resource(max_entries=4, show_spinner="Drawing the map…")
def _plane(model: str):
    return classroom.truth_plane(model)


@st.cache_resource(max_entries=4, show_spinner=False)
def _click_figure(model: str):
    """Shared read-only by every student (Streamlit only serialises it)."""
    codes, _, extent = _plane(model)
    return common.chart_style(figures.click_plane_figure(codes, extent))


def _results(store, question: classroom.QuestionInfo, mine=None) -> None:
    """The class's answers beside the true one (read once: after the reveal they are final)."""
    key = _RESULTS.format(question.id)
    if key not in st.session_state:
        st.session_state[key] = classroom.answers(store, question.id)
    answers = st.session_state[key]
    spec, truth = question.spec, question.truth or {}
    true = truth.get("value")
    values = [a.value for a in answers]
    n = len(values)
    if spec.kind == "choice":
        fig = figures.choice_figure(spec.options, values, true)
        said = (f"{sum(v == true for v in values)} of {n} chose the true answer."
                if true is not None else f"{n} answers.")
    elif spec.kind == "number":
        fig = figures.number_figure(values, true)
        median = f"the class's median is {statistics.median(values):g}" if values else "no answers"
        said = (f"{n} answers; {median}; {sum(v == true for v in values)} exactly right."
                if true is not None else f"{n} answers; {median}.")
    else:
        codes, labels, extent = _plane(spec.model)
        label = truth.get("label")
        fig = figures.click_reveal_figure(codes, labels, label, str(label), extent, values,
                                          [a.student for a in answers], true)
        hits = classroom.click_hits(spec.model, label, values) if label is not None else []
        said = (f"{sum(hits)} of {n} clicks landed among the {label}s." if hits
                else f"{n} answers.")
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(common.chart_style(fig), key=f"question_{question.id}_results")
    with right:
        if true is not None:
            st.markdown(f"**True answer: {md(_shown(true))}**")
            st.caption(md(truth.get("text", ""), 600))
        else:
            st.caption("This question has no stated answer: the class's answers are the point.")
        st.markdown(md(said))
        if mine is not None:
            st.markdown(f"Your answer: **{md(_shown(mine))}**")


def _teacher_period(store, class_id: int, live: tuple | None = ()) -> float:
    """How often a teacher's screen looks again: quickly while answers come in, else slowly.
    `live`: the live question as read already (``()``: read it)."""
    if live == ():
        live = classroom.live_question(store, class_id)
    return TEACHER_POLL_S if live is not None and live[1] == "open" else QUIET_POLL_S


def _teacher_panel(class_id: int) -> None:
    """The live question on any page, for the teacher: its count, Reveal, Close, the results."""
    store = class_parts._quiet_store()
    live = None if store is None else classroom.live_question(store, class_id)
    polling.keep("question_panel", _teacher_period(store, class_id, live))
    if live is None:
        return
    question = _question(store, live[0])
    with st.container(border=True, key="class_question_teacher"):
        _live_question(store, question, live[1], class_id)


def _live_question(store, question: classroom.QuestionInfo, state: str, class_id: int) -> None:
    key, who = class_parts.teacher_key(), class_parts.caller()
    st.markdown(f"**Question to the class:** {md(question.spec.prompt, PROMPT_MAX)}")
    if state == "open":
        answered, everyone = classroom.answer_count(store, question.id), len(store.roster(class_id))
        text, reveal = st.columns([3, 1], vertical_alignment="center")
        text.markdown(f"**{answered} of {everyone}** students answered.")
        if not reveal.button("Reveal the answers", key=f"reveal_{question.id}", type="primary"):
            return
        classroom.reveal(store, question.id, key=key, caller=who)  # shown at once, below
        _live_shared.clear()
    _results(store, question)
    st.button("Close the question", key=f"close_{question.id}", on_click=_close,
              args=(store, question.id, key, who),
              help="It leaves the students' screens; its answers stay for the export.")


def _close(store, question_id: int, key: str | None, who: str) -> None:
    classroom.close(store, question_id, key=key, caller=who)
    _live_shared.clear()


def teacher_section(store, class_id: int, class_code: str) -> None:
    """The Teacher page's "Predict, then reveal": ask a ready or an own question, watch the
    answers come in, reveal them beside the true answer, export every answer (CSV)."""
    key, who = class_parts.teacher_key(), class_parts.caller()
    st.subheader("Predict, then reveal")
    ready, own = st.tabs(["Ready questions", "Your own question"])
    with ready:
        st.caption("The app computes each one's true answer from the shipped models and shows "
                   "how, beside the class's answers.")
        for name, question in classroom.READY_QUESTIONS.items():
            text, go = st.columns([5, 1], vertical_alignment="center")
            text.markdown(f"**{md(question.title)}**  \n{md(question.spec.prompt, PROMPT_MAX)}")
            if go.button("Ask", key=f"question_ask_{name}", type="primary"):
                _ask(store, class_id, question.spec, key, who)
    with own:
        with st.form("question_own", border=False):
            kind = st.radio("Kind", [k for k in KINDS if k != "click"], horizontal=True,
                            format_func={"choice": "Multiple choice", "number": "A number"}.get)
            prompt = st.text_input("Question", max_chars=PROMPT_MAX)
            options = st.text_area("Options (multiple choice: one a line)", height=110)
            answer = st.text_input("Your answer (optional): an option's text, or a number",
                                   max_chars=80)
            if st.form_submit_button("Ask the class"):
                raw = {"kind": kind, "prompt": prompt, "answer": answer.strip() or None}
                if kind == "choice":
                    raw["options"] = [o for o in options.splitlines() if o.strip()]
                _ask(store, class_id, raw, key, who)
    polling.fragment("question_live", _teacher_period(store, class_id), _teacher_live, store,
                     class_id, class_code)


def _ask(store, class_id: int, spec, key: str | None, who: str) -> None:
    try:
        ask_class(store, class_id, spec, key, who)
    except ExplorerError as e:  # a bad question, the key refused, a model that cannot load
        st.error(str(e))


def _teacher_live(store, class_id: int, class_code: str) -> None:
    live = classroom.live_question(store, class_id)
    polling.keep("question_live", _teacher_period(store, class_id, live))
    if live is None:
        st.caption("No question is open: pick one above and ask the class.")
    else:
        _live_question(store, _question(store, live[0]), live[1], class_id)
    # The file is made here, with the answers as they are now: a deferred one (made on click)
    # is dropped by this page's next timed rerun before the browser fetches it.
    st.download_button("Export the answers (CSV)", key="question_csv", on_click="ignore",
                       data=classroom.answers_csv(store, class_id, key=class_parts.teacher_key(),
                                         caller=class_parts.caller()),
                       file_name=f"answers-{class_code}.csv", mime="text/csv",
                       icon=":material/download:")


def ask_from_lesson(question: dict, key: str) -> None:
    """A lesson step's question: an "Ask the class" button for the teacher of the class this
    session has open (nothing for anyone else); the backend refuses anyone without the key."""
    store = class_parts._quiet_store()
    if store is None:
        return
    try:
        klass = class_parts.chosen_class(store)
        if klass is None or not class_parts.is_teacher(store):
            st.caption("With a class open on the Teacher page, you can ask it this question.")
            return
        if st.button("Ask the class", key=key, icon=":material/campaign:", type="primary"):
            ask_class(store, klass.id, question, class_parts.teacher_key(), class_parts.caller())
            st.success("Asked: the students see it now; reveal their answers from the box "
                       "above the page.")
    except (QuestionError, ClassError) as e:
        st.warning(str(e))
