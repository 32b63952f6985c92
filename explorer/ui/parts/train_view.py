"""The Train page's view of a job: its live progress, loss curves and test reconstructions while
it runs (polled from fragments), and its result once it ends (saved or not, its test metrics, a
way to open it). The job itself runs outside the web server (:mod:`explorer.jobs`); its handle
lives in ``st.session_state["train_job"]``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from explorer import data, families, runs
from explorer.analysis import COLLAPSE_NATS, floor_about
from explorer.errors import ExplorerError
from explorer.families import ModelConfig, collapse_warning
from explorer.figures.plots import loss_figure
from explorer.jobs import Job, JobState
from explorer.ui import pages
from explorer.ui.parts import common, export_buttons, job_owner, polling

PREVIEW_PX = 56  # on-screen size of one preview image

# -- small helpers ----------------------------------------------------------------------------
def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def request_stop() -> None:
    job = st.session_state.get("train_job")
    if job is not None:
        job.stop()
        st.session_state["train_stopping"] = True


# -- drawing a job's state --------------------------------------------------------------------
def show_curves(job: Job, state: JobState) -> None:
    fig = loss_figure(state, job.model_config().likelihood)
    if fig is not None:
        export_buttons.chart(common.chart_style(fig), config={"displayModeBar": False},
                             key="train_curves", name=job.name, settings=["training curves"])


def show_reconstructions(state: JobState, final: bool = False) -> None:
    if state.originals is None:
        return
    latest = state.previews[-1] if state.previews and state.previews[-1].size else None
    if latest is None:
        note = (
            "no epoch finished, so no reconstructions to show"
            if final
            else "their reconstructions appear after the first epoch"
        )
        common.show_grid(
            state.originals,
            ncols=len(state.originals),
            size=PREVIEW_PX,
            caption=f"Test images; {note}.",
        )
        return
    epochs = len(state.previews)
    last = state.history[-1]["train"] if state.history else {}
    job = st.session_state.get("train_job")
    conditional = job is not None and families.of(job.model_config()).conditional
    what = "samples of classes 0, 1, 2, …" if conditional else "reconstructions"
    if "g_loss" in last:
        what = "samples from the same fixed noise"
        if warning := collapse_warning(last.get("variety", 1.0), 1.0):
            st.warning(warning)
    export_buttons.grid(
        np.concatenate([state.originals, latest]),
        ncols=len(state.originals),
        size=PREVIEW_PX,
        caption=f"Top: test images · bottom: {what} after epoch {epochs}",
        key="train_previews", name=job.name if job is not None else "training",
        settings=[f"test images and {what}", f"epoch {epochs}"],
    )


def progress_text(state: JobState, stopping: bool) -> tuple[float, str]:
    if state.status == "queued":
        wait = f", about {duration(state.wait)}" if state.wait is not None else ""
        return 0.0, f"Queued: {ordinal(state.position)} in line{wait}"
    if not state.steps_per_epoch:
        return 0.0, "Preparing the data and the model…"
    total = state.epochs * state.steps_per_epoch
    fraction = min(1.0, state.step / total)
    if stopping:
        return fraction, "Stopping… keeping what it learned so far"
    if state.status == "saving":
        return 1.0, "Testing the model and saving it…"
    eta = f" · ETA {duration(state.eta)}" if state.eta is not None else ""
    return fraction, f"Epoch {state.epoch}/{state.epochs} · step {state.step}/{total}{eta}"


def headline(job: Job) -> None:
    title = data.INFOS[job.dataset_name].title
    st.markdown(f"**runs/{job.name}** · {job.model_config().describe()} · {title}")


# The curves and the previews are plotly figures and images: tens of milliseconds of the server's
# time each, so with a class training they are redrawn every few seconds; the bar stays lively.
CHARTS_EVERY_S = 3.0


# Every training student's page reruns this: with thirty of them, twice a second was sixty
# script runs a second on the server (and as many redraws in their browsers) for a bar.
PROGRESS_EVERY_S = 1.0
# A place in line changes only when a run ahead of it ends, and with two workers most of a class
# waits in line. Each look costs the student's browser ~75 ms of work on this page (Streamlit
# redraws the page's tree; explorer.ui.parts.polling): a waiting page draws no charts until its
# run starts, looks every 2 s near the front of the line and every 6 s further back (a class of
# thirty waiting pages looking every 2 s was fifteen redraws a second for places in line).
QUEUED_EVERY_S, FRONT_PLACES, BACK_EVERY_S = 2.0, 3, 6.0


def _period(state: JobState) -> float:
    if state.status != "queued":
        return PROGRESS_EVERY_S
    return QUEUED_EVERY_S if state.position <= FRONT_PLACES else BACK_EVERY_S


def _progress() -> None:
    """The bar and Stop/Cancel, every second while the run trains and every QUEUED_EVERY_S or
    BACK_EVERY_S while it waits (near the front of the line or further back); a full rerun when
    it starts (to draw its charts) and when it ends."""
    job_owner.reclaim_session()  # a tab that reconnected reruns only this: its job is still its
    job: Job = st.session_state["train_job"]
    state = job.snapshot()
    if not state.active:
        # A full rerun, not a fragment one: it draws the final state without a refresh and lets
        # the sidebar's picker list the new run.
        st.rerun(scope="app")
    polling.keep("train_progress", _period(state))
    stopping = bool(st.session_state.get("train_stopping"))
    headline(job)
    fraction, text = progress_text(state, stopping)
    st.progress(fraction, text=text)
    queued = state.status == "queued"
    st.button(
        "Cancel" if queued else "Stop",
        key="stop_training",
        on_click=request_stop,
        disabled=stopping or state.status == "saving",
        icon=":material/cancel:" if queued else ":material/stop_circle:",
        help="Leaves the queue; nothing is saved." if queued
        else "Ends training now; what it learned is saved.",
    )


@st.fragment(run_every=CHARTS_EVERY_S)
def live_charts() -> None:
    job = st.session_state["train_job"]
    state = job.snapshot()
    show_curves(job, state)
    show_reconstructions(state)


# Brings the live run's progress bar on screen once it is drawn (it may take a moment): a student
# who scrolled down the form and pressed Train saw nothing happen, the run being drawn beside the
# form's top. Nothing moves when the bar is already in sight; the fixed header's height is kept
# clear above it.
BRING_INTO_VIEW_JS = """<script>(() => {
  const until = Date.now() + 8000;
  const look = () => {
    const bar = document.querySelector('[data-testid="stProgress"]');
    if (!bar) { if (Date.now() < until) setTimeout(look, 100); return; }
    const r = bar.getBoundingClientRect();
    if (r.top >= 60 && r.bottom <= window.innerHeight) return;
    let box = bar.parentElement;
    while (box && !(box.scrollHeight > box.clientHeight
                    && /(auto|scroll)/.test(getComputedStyle(box).overflowY))) {
      box = box.parentElement;
    }
    if (box) box.scrollTop += r.top - 80; else window.scrollBy(0, r.top - 80);
  };
  look();
})();</script>"""


def progress_view() -> bool:
    """The job's bar: its place in line while it waits, its progress once it runs (true)."""
    state = st.session_state["train_job"].snapshot()
    polling.fragment("train_progress", _period(state), _progress)
    return state.status != "queued"


def live_view(bring_into_view: bool = False) -> None:
    """The running job's progress and charts, or its place in line while it waits (no charts:
    nothing to draw yet); `bring_into_view` right after Train was pressed."""
    if progress_view():
        live_charts()
    if bring_into_view:
        st.html(BRING_INTO_VIEW_JS, unsafe_allow_javascript=True)


def metric_row(metrics: dict, cfg: ModelConfig) -> None:
    is_vae = families.of(cfg).posterior  # a rate and an ELBO to show
    shown = {
        "Test loss": ("loss", "{:.2f}", "the training objective, nats per image"),
        "Pixel error (MSE)": ("mse", "{:.4f}", "MSE, the mean squared error per pixel"),
        "Neighbours agree (k-NN)": (
            "knn_acc",
            "{:.0%}",
            "k-NN accuracy: each test image gets the majority label of its 5 nearest *training* "
            "codes; "
            "how often it is right: do similar images get similar codes?",
        ),
    }
    if is_vae:
        # For a VAE the -ELBO is the honest number (β-weighted loss is not a bound), and showing
        # both would show the same value twice whenever β = 1.
        del shown["Test loss"]
        # Plain words first, the term second (its definition in the help).
        shown = {"Total cost (−ELBO)": ("neg_elbo", "{:.2f}", "−ELBO, the negative evidence "
                                        "lower bound: nats per image, lower is better (rate + "
                                        "distortion)"),
                 "Code's information (rate)": ("kl", "{:.2f}", "rate, the mean KL(q(z|x) ‖ "
                                               "p(z)), nats: an upper bound on the information "
                                               "the code carries, I(x; z) ≤ log N for N images"),
                 "Lowest reachable (floor)": ("recon_floor", "{:.1f}", "floor: the least "
                                              "reconstruction cost any decoder can reach, nats "
                                              f"per image: {floor_about(cfg)}"),
                 **shown}
    present = [
        (label, *v) for label, v in shown.items() if isinstance(metrics.get(v[0]), int | float)
    ]
    if not present:
        return
    for col, (label, key, fmt, about) in zip(st.columns(len(present)), present, strict=True):
        col.metric(label, fmt.format(metrics[key]), help=about)


def save_again(job: Job, state: JobState) -> None:
    """Retry: save the model the worker kept when its first save failed."""
    try:
        st.session_state["train_rescued"] = (job.id, runs.save_kept(*state.unsaved))
        st.session_state.pop("train_retry_error", None)
    except ExplorerError as e:
        st.session_state["train_retry_error"] = str(e)


def offer_unsaved(job: Job, state: JobState) -> None:
    """The save failed (disk full, read-only folder): the model is still here; save or keep it."""
    failure = st.session_state.get("train_retry_error") or state.message  # the latest try's
    st.error(f"{failure} The trained model is kept in this tab: save it again once there is "
             "room, or download it and add it later from the sidebar.")
    left, right = st.columns(2)
    left.button("Retry saving", key="train_retry", icon=":material/refresh:",
                on_click=save_again, args=(job, state))
    right.download_button("Download the model (.zip)", runs.unsaved_model_zip(*state.unsaved),
                          file_name=f"{job.name}.zip", mime="application/zip",
                          key="train_download", icon=":material/download:")


def final_view(job: Job, state: JobState) -> None:
    if notice := getattr(job, "notice", ""):  # its class was deleted: stopped, files removed
        headline(job)
        st.warning(notice, icon=":material/delete:")
        return
    rescued = st.session_state.get("train_rescued")
    if rescued and rescued[0] == job.id:  # saved by Retry
        state.saved_path, state.unsaved = rescued[1], None
    # A save that found its name taken at the last moment took the next free one.
    name = Path(state.saved_path).name if state.saved_path else job.name
    saved = state.saved_path is not None
    headline(job)
    if state.unsaved:
        offer_unsaved(job, state)
    elif state.status == "finished":
        # Presenter mode folds the sidebar away: say what is on screen there.
        where = ("press **Open it** below to explore it" if common.presenting() else
                 "press **Open it** below, or pick it in the sidebar's model list")
        st.success(f"Saved run '{name}': {where}.", icon=":material/check_circle:")
    elif state.status == "stopped":
        epochs = len(state.history)
        when = (
            f"after {epochs} full epoch{'s' if epochs != 1 else ''}"
            if epochs
            else "before the first epoch ended"
        )
        where = f"saved as '{name}'" if saved else "not saved"
        st.info(f"Stopped {when}; what it learned is {where}.", icon=":material/stop_circle:")
    elif state.status == "cancelled":
        st.info(state.message, icon=":material/cancel:")
    else:  # diverged or failed: the message already says what to try
        st.error(state.message or "Training failed.")
        if saved:
            st.caption(f"The weights from its last good epoch were saved as '{name}'.")
    if saved:
        metric_row(state.metrics, job.model_config())
        if (kl := state.metrics.get("kl", COLLAPSE_NATS)) < COLLAPSE_NATS:  # a VAE's, collapsed
            st.warning(f"**Posterior collapse:** the codes carry only {kl:.2f} nats about each "
                       "image, so the decoder draws nearly the same picture for every code. "
                       "Lower β, or train for more epochs.", icon=":material/warning:")
        st.button(
            "Open it",
            key="open_trained",
            type="primary",
            icon=":material/scatter_plot:",
            on_click=pages.open_page,
            args=("map", {}, f"runs/{name}"),
            help="Shows this model on the latent map.",
        )
    show_curves(job, state)
    show_reconstructions(state, final=True)
