"""Join a class: type the code and a display name. No account, no e-mail; the browser keeps the
identity (a cookie, never the URL), so a reload or a dropped connection keeps it."""

import streamlit as st

from explorer.classroom import ENDED, ClassError
from explorer.errors import plain
from explorer.ui import pages
from explorer.ui.parts import class_parts, page_start

page_start.start_page("Join the class", needs_model=False)
store = class_parts.class_store()
if store is None:
    st.stop()
student = class_parts.current_student(store)
if student is None:
    st.caption("Type the code your teacher shows and the name the class will see beside your "
               "models.")
    with st.form("join_form"):
        code = st.text_input("Class code", value=st.query_params.get("code", "")[:12],
                             max_chars=12)
        name = st.text_input("Your name", max_chars=40)
        if st.form_submit_button("Join", type="primary"):
            try:
                student, token = store.join(code, name)
            except ClassError as e:
                st.error(str(e))
            else:
                class_parts.remember(token)
                st.rerun()  # the whole app again, as the class member (following the teacher)
if student is not None:
    klass = store.get_class(student.class_id)
    if st.context.cookies.get(class_parts.COOKIE) != class_parts.token():
        class_parts.remember(class_parts.token())  # the browser keeps it for a reload
    st.success(f"You are **{plain(student.name)}** in **{plain(klass.name)}**.",
               icon=":material/how_to_reg:")
    st.caption("Train a model: your teacher sees it on the class dashboard, with your name.")
    st.page_link(pages.path("train"), label="Train a model", icon=":material/model_training:")
    _, runs = class_parts.my_class_runs(store)
    if runs:
        st.subheader("Your runs")
    for run in runs:
        text, delete = st.columns([5, 1])
        text.text(f"{run.run_name}: {run.ending()}")
        if delete.button("Delete", key=f"delete_mine_{run.id}", disabled=run.status not in ENDED):
            try:
                store.delete_run(run.id, token=class_parts.token(), caller=class_parts.caller())
                st.rerun()
            except ClassError as e:
                st.error(str(e))
    st.button("Not you? Leave", on_click=class_parts.forget,
              help="This browser forgets who you are (your runs stay).")
