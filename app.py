"""Latent Explorer: see what autoencoders learn. Run with ``streamlit run app.py``.

This file is only the router: page setup, the shared sidebar (model picker) and navigation.
The pages live in ``explorer/ui/`` (their table in ``explorer/ui/pages/__init__.py``); everything they
compute comes from the ``explorer`` backend.

Everything happens in :func:`main`, under ``if __name__ == "__main__"``: Streamlit runs this file
as ``__main__``, and a training worker (a ``multiprocessing`` child) re-imports it as
``__mp_main__`` before it starts its job. Unguarded, every job drew the whole app once more with no
browser, and the server's terminal filled with "missing ScriptRunContext!" warnings.
"""


def main() -> None:
    import time

    import streamlit as st

    from explorer.ui import pages

    # Presenter mode is for a projector: the pictures get the screen, so the sidebar starts folded.
    st.set_page_config(page_title="Latent Explorer", page_icon="🧭", layout="wide",
                       initial_sidebar_state="collapsed" if pages.presenting() else "auto")
    # A session's first run may load a model, seconds on a busy server: show a title and say so
    # at once rather than a blank page (later runs are quick, and would only flicker).
    loading = st.empty()
    if "_started" not in st.session_state:
        st.session_state["_started"] = True
        with loading.container():
            st.title("Latent Explorer")
            st.caption(":material/hourglass_top: Loading the model…")
            # The browser fetches plotly.js (megabytes) only when a page first shows a chart: an
            # empty one here starts that download while the server builds the page.
            import plotly.graph_objects as go

            st.plotly_chart(go.Figure(layout=dict(height=10, margin=dict(l=0, r=0, t=0, b=0),
                                                  xaxis_visible=False, yaxis_visible=False)),
                            config={"staticPlot": True}, key="_plotly_prefetch")

    # None of these imports torch: the model list comes from the cards, and a page loads a model
    # (and torch, seconds the first time) only when it needs one (explorer.ui.parts.common.get_model).
    from explorer.ui.parts import class_follow, job_owner, sidebar, url_values, warm
    from explorer.ui.parts import share as share_view

    lost_jobs, started = warm.once_per_server()

    url_values.check_query_params()  # before any widget reads the URL: one place for every value
    page = st.navigation(pages.navigation())
    st.session_state[url_values.PAGE] = pages.name_of(page.url_path)
    loading.empty()
    job_owner.reclaim_session()
    st.session_state["_entry"] = sidebar.sidebar()
    sidebar.training_notice(on_train_page=page.url_path == "train")
    pages.follow()  # a button's callback may have asked for another page
    url_values.show_notes()  # what of a stale or foreign link could not be used, in a sentence
    # In a class: "Class follows me", or a student's look for the teacher's view and question.
    student_looks = class_follow.bar(page.url_path)
    if lost_jobs and page.url_path == "train" and time.time() - started < 3600:
        st.warning(f"The server restarted at {time.strftime('%H:%M', time.localtime(started))} "
                   f"while {lost_jobs} training job(s) were running or queued; they were lost and "
                   "nothing of them was saved. If yours was one, press Train again.",
                   icon=":material/restart_alt:")
    from explorer.ui.parts import class_questions

    class_questions.panel(page.url_path, student_looks)  # the live question, above every page
    # "Share this view": the view's link and QR code. Presenting, it sits in the page's top bar
    # (fixed there), drawn after the page so that no gap of it is left above the first chart.
    presenting = pages.presenting()
    if not presenting:
        share_view.place()
    try:
        page.run()
    finally:
        if presenting:
            share_view.place()
    class_follow.after_page()
    warm.after_first_page()


if __name__ == "__main__":
    main()
