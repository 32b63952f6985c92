"""Teacher: open a class, show the room how to join (code, link, QR), the roster, and the class
dashboard, live: one row per student, the loss curves and the class's rate–distortion plane."""

import io
import os
from pathlib import Path

import pandas as pd
import segno
import streamlit as st

from explorer import classroom
from explorer.classroom import ClassError
from explorer.errors import plain
from explorer.figures import classroom as figures_class
from explorer.ui import pages
from explorer.ui.parts import class_parts, class_questions, export_buttons, page_start

page_start.start_page("Teacher", needs_model=False)
store = class_parts.class_store()
if store is None:
    st.stop()
if not class_parts.is_teacher(store):
    st.caption("This page is the teacher's. Type the teacher key: the one the app was started "
               "with (EXPLORER_TEACHER_KEY), or the one `python -m explorer class new` printed.")
    with st.form("teacher_key_form"):
        typed = st.text_input("Teacher key", type="password")
        if st.form_submit_button("Open the teacher's page"):
            try:
                if class_parts.try_key(store, typed):
                    st.rerun()
                st.error("That is not the teacher key.")
            except ClassError as e:
                st.error(str(e))
    st.stop()

key, who = class_parts.teacher_key(), class_parts.caller()
if said := st.session_state.pop("class_deleted", None):
    st.success(plain(said))


def delete_class_control(klass) -> None:
    """Delete the class, after typing its code: its roster, records and runs' model folders go;
    its running jobs stop, their students told why."""
    with st.popover("Delete this class…", icon=":material/delete:"):
        students, runs, active = classroom.deletion_summary(store, klass.id)
        st.caption(f"{students} students and {runs} runs" + (
            f" ({active} still queued or training: they are stopped and their students told)"
            if active else "") + ". Their records and the runs' model folders are removed for "
            "good.")
        typed = st.text_input(f"Type the code {klass.code} to confirm", key="class_delete_code")
        if st.button("Delete the class", key="class_delete", type="primary",
                     disabled=typed.strip().upper() != klass.code):
            try:
                gone = classroom.delete_class(store, klass.id, key=key, caller=who)
            except ClassError as e:
                st.error(str(e))
                return
            class_parts.recorder().stop_deleted(gone.active)
            class_parts.choose_class(None)
            st.session_state["class_deleted"] = (
                f"Deleted “{gone.name}”: {gone.students} students, {gone.runs} runs, "
                f"{gone.folders} model folders" + (f"; {len(gone.active)} runs stopped"
                                                   if gone.active else "") + ".")
            st.rerun()


classes = store.classes()
with st.expander("Open a new class", expanded=not classes):
    with st.form("new_class"):
        name = st.text_input("Class name", max_chars=80, placeholder="Autoencoders, week 3")
        if st.form_submit_button("Open the class"):
            try:
                class_parts.choose_class(store.open_class(name, key=key, caller=who).id)
                st.rerun()
            except ClassError as e:
                st.error(str(e))
if not classes:
    st.stop()

by_id = {c.id: c for c in classes}
current = class_parts.chosen_class(store) or classes[-1]
chosen = st.selectbox("Class", list(by_id), index=list(by_id).index(current.id),
                      format_func=lambda i: by_id[i].name + (" (closed)" if by_id[i].closed else ""))
class_parts.choose_class(chosen)
klass = by_id[chosen]


link = class_parts.join_link(klass.code)
left, right = st.columns([3, 2])
with left:
    st.markdown(f"### Join code: `{klass.code}`")
    st.caption("Students open this link (or scan the code), then type their name:")
    st.code(link, language=None)
    if klass.closed:
        st.warning("This class is closed to new students.")
    if st.button("Reopen the class" if klass.closed else "Close the class to new students"):
        store.close_class(klass.id, key=key, caller=who, closed=not klass.closed)
        st.rerun()
    allowed = classroom.students_may_add(store)
    if st.toggle("Students may add datasets and shared models", value=allowed,
                 key="class_students_add",
                 disabled=bool(os.environ.get(classroom.STUDENTS_ADD_ENV)),
                 help="Off: only you can add them (the server refuses a student's file). "
                      f"{classroom.STUDENTS_ADD_ENV}=1 at start-up turns it on for good."
                 ) != allowed:
        classroom.allow_students(store, not allowed, key=key, caller=who)
        st.rerun()
    delete_class_control(klass)
with right:
    png = io.BytesIO()
    segno.make(link, error="m").save(png, kind="png", scale=12, border=2)
    st.image(png.getvalue(), width=320, caption="Scan to join")

COLUMNS = {"student": "Student", "run": "Run", "model": "Model", "state": "State",
           "neg_elbo": "−ELBO (nats)", "rate": "Rate (nats)", "distortion": "Distortion (nats)",
           "knn_acc": "k-NN accuracy", "fid": "FD", "precision": "Precision",
           "recall": "Recall"}


# Each rerun of a fragment redraws this long page in the teacher's browser (~50 ms of its main
# thread, bench/bench_refresh.py): the table looks every second, so a row shows an epoch within
# about a second of the recorder writing it; the charts, whose redraws cost more, every 3 s.
TABLE_EVERY_S, CHARTS_EVERY_S = 1.0, 3.0


@st.fragment(run_every=TABLE_EVERY_S)
def dashboard() -> None:
    """The table (a small query each time) and its CSV."""
    if (trouble := class_parts.recorder().trouble):
        st.warning(trouble, icon=":material/database:")
    rows = classroom.dashboard_rows(store, klass.id)
    st.subheader(f"Class dashboard: {len(rows)} student{'s' if len(rows) != 1 else ''}")
    if not rows:
        st.caption("No one has joined yet.")
        return
    # A static table of text (names as typed, numbers to 3 decimals, a blank for none yet):
    # large on a projector, and no column of numbers mixed with blanks for Arrow to refuse.
    shown = [k for k in COLUMNS if any(r.get(k) is not None for r in rows)]
    table = pd.DataFrame([{COLUMNS[k]: cell(r.get(k)) for k in shown} for r in rows], dtype=str)
    st.table(table.set_index(COLUMNS["student"]))
    # The file is made here, at each refresh: Streamlit names a file by its bytes, so while the
    # table stands still the button keeps one address. A file made on click (a callable) belongs
    # to no element and is deleted after this fragment's next two refreshes: a browser slower
    # than a second got "download canceled".
    st.download_button("Export the table (CSV)", key="class_csv", on_click="ignore",
                       data=classroom.dashboard_csv(store, klass.id, key=key, caller=who),
                       file_name=f"class-{klass.code}.csv", mime="text/csv",
                       icon=":material/download:")


def cell(value) -> str:
    if value is None:
        return ""
    return f"{value:.3f}" if isinstance(value, float) else str(value)


@st.fragment(run_every=CHARTS_EVERY_S)
def charts() -> None:
    """The class's loss curves and rate–distortion plane."""
    runs = store.runs(klass.id)  # one read for both charts
    curves = classroom.dashboard_curves(store, klass.id, runs)
    points = classroom.rd_points(store, klass.id, runs)
    left, right = st.columns(2)
    with left:
        if curves:
            export_buttons.chart(figures_class.class_curves_figure(curves), key="class_curves",
                                 name=klass.name, settings=["the class's loss curves"])
    with right:
        if [p for p in points if p["rate"] is not None]:
            export_buttons.chart(figures_class.class_rd_figure(points), key="class_rd",
                                 name=klass.name, settings=["the class's rate and distortion"])
            st.caption("This class's VAE runs only (never joined to the shipped β sweep).")
    for p in points:
        if p["note"]:
            st.caption(f"⚠️ {plain(p['student'])} ({plain(p['run'])}): {p['note']}")


dashboard()
charts()
class_questions.teacher_section(store, klass.id, klass.code)

saved = {r.id: r for r in store.runs(klass.id, include_hidden=True) if r.saved_path}
if saved:
    show, where, go = st.columns([3, 2, 1], vertical_alignment="bottom")
    run_id = show.selectbox("Put a run on the projector", list(saved), key="class_show_run",
                            format_func=lambda i: f"{saved[i].student or 'teacher'} · "
                                                  f"{saved[i].run_name}")
    page_name = where.selectbox("on the page", ["map", "compare", "interpolate", "sample",
                                                "rate_distortion", "generators"],
                                key="class_show_page",
                                format_func=lambda n: pages.PAGES[n].title)
    go.button("Show", on_click=pages.open_page, args=(page_name,),
              kwargs={"model": f"runs/{Path(saved[run_id].saved_path).name}"})

# One student at a time, picked by name: the dashboard above lists everyone. Thirty boxes of
# buttons made this page ~300 elements long, and each of the dashboard's refreshes redraws the
# whole page in the teacher's browser (twice the main-thread time of a class of three).
st.subheader("A student's runs")
runs = store.runs(klass.id, include_hidden=True)
roster = {s.id: s for s in store.roster(klass.id)}
if not roster:
    st.caption("No one has joined yet.")
    st.stop()
count = {i: sum(r.student_id == i for r in runs) for i in roster}
student = roster[st.selectbox(
    "Student", list(roster), key="class_manage_student",
    format_func=lambda i: f"{roster[i].name} · {count[i]} run{'s' if count[i] != 1 else ''}",
    help="Hide or delete one of their runs, or remove them from the class.")]
# Rows of a name (or a run) and its buttons, side by side: columns wrapped each button under
# its text on a 1024-px projector.
with st.container(border=True, key=f"roster_{student.id}"):
    with st.container(horizontal=True, vertical_alignment="center"):
        st.text(student.name)
        if st.button("Remove", key=f"remove_{student.id}",
                     help="Their identity stops working; their runs stay until deleted."):
            store.remove_student(student.id, key=key, caller=who)
            st.rerun()
    for run in [r for r in runs if r.student_id == student.id]:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.text(f"{run.run_name}: {run.ending()}" + (" (hidden)" if run.hidden else ""))
            if st.button("Show" if run.hidden else "Hide", key=f"hide_{run.id}"):
                store.hide_run(run.id, key=key, caller=who, hidden=not run.hidden)
                st.rerun()
            if st.button("Delete", key=f"delete_{run.id}", disabled=run.status not in
                         ("finished", "stopped", "tab_closed", "failed", "cancelled")):
                try:
                    store.delete_run(run.id, key=key, caller=who)
                    st.rerun()
                except ClassError as e:
                    st.error(str(e))
