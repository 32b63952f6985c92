"""Train page: a form of settings, a training job in a worker thread, and a live view of it.

The page only collects settings and draws what the job reports: the loop, the evaluation and the
saving all happen in :class:`explorer.jobs.TrainingJob`, which this page polls from a fragment.
One job per browser session lives in ``st.session_state["train_job"]``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from explorer import datasets, projection, store
from explorer.errors import ConfigError, ExplorerError
from explorer.jobs import JobState, TrainingJob
from explorer.models import ModelConfig
from explorer.training import TrainConfig
from explorer.ui import common

MAP_PAGE = "explorer/ui/latent_map.py"
DEFAULT_HIDDEN = {"mlp": "400", "conv": "32,64"}
DONE = ("finished", "stopped", "diverged", "failed")
PART_TITLES = {"loss": "Loss", "recon": "Reconstruction", "kl": "KL", "sparsity": "Sparsity (L1)"}
TRAIN_COLOR, TEST_COLOR = "#83c9ff", "#0068c9"
MAX_CURVE_POINTS = 1000  # per trace: keeps each redraw light at two polls a second
PREVIEW_PX = 56  # on-screen size of one preview image


# -- small helpers ----------------------------------------------------------------------------
def dataset_label(name: str) -> str:
    info = datasets.INFOS[name]
    if datasets.is_available(name):
        return info.title
    megabytes = info.source.download_bytes / 2**20
    return f"{info.title} (downloads ~{megabytes:.0f} MB on first use)"


def parse_hidden(text: str, arch: str) -> tuple[int, ...]:
    """'512, 256' -> (512, 256); empty means the body's default. Ranges are ModelConfig's job."""
    text = text.strip() or DEFAULT_HIDDEN[arch]
    try:
        return tuple(int(part) for part in text.replace(" ", ",").split(",") if part)
    except ValueError:
        raise ConfigError(
            f"Hidden sizes must be whole numbers separated by commas, e.g. 400 or 512,256 — "
            f"not '{text}'."
        ) from None


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def is_done(job: TrainingJob, state: JobState) -> bool:
    # A worker that vanished without a final status counts as done too, so the page never hangs.
    return state.status in DONE or not job.running


def request_stop() -> None:
    job = st.session_state.get("train_job")
    if job is not None:
        job.stop()
        st.session_state["train_stopping"] = True


def open_run(run_id: str) -> None:
    # A callback runs before the sidebar's picker is drawn, so its key may still be set here.
    st.session_state["model"] = run_id
    st.session_state["train_open"] = run_id


# -- starting a job ---------------------------------------------------------------------------
def start_job(settings: dict) -> None:
    """Validate the form's settings and start a job; every problem becomes one st.error line."""
    job = st.session_state.get("train_job")
    if job is not None and not is_done(job, job.snapshot()):
        st.warning(
            "A model is already training in this tab. Stop it or wait for it to finish "
            "before starting another."
        )
        return
    try:
        info = datasets.get_info(settings["dataset"])
        model_cfg = ModelConfig(
            kind=settings["kind"],
            arch=settings["arch"],
            image_shape=info.image_shape,
            latent_dim=int(settings["latent"]),
            hidden=parse_hidden(settings["hidden"], settings["arch"]),
            likelihood=settings["likelihood"],
            beta=float(settings["beta"]),
            sparsity=float(settings["sparsity"]),
            denoise=float(settings["denoise"]),
        )
        train_cfg = TrainConfig(
            epochs=int(settings["epochs"]),
            batch_size=int(settings["batch_size"]),
            lr=float(settings["lr"]),
            seed=int(settings["seed"]),
        )
        if typed := settings["name"].strip():
            folder = store.sanitize_run_name(typed)
            if (free := store.unique_run_name(folder)) != folder:
                raise ConfigError(
                    f"A run named '{folder}' already exists; choose another name, e.g. '{free}'."
                )
        else:
            suggested = f"{info.name}-{model_cfg.kind}-{model_cfg.arch}-z{model_cfg.latent_dim}"
            folder = store.unique_run_name(suggested)
        out = store.new_run_path(folder)
        job = TrainingJob(model_cfg, train_cfg, info.name, out, name=out.name)
        spinner = (
            "Preparing the data…"
            if datasets.is_available(info.name)
            else (f"Downloading {info.title} (once; it is cached for next time)…")
        )
        with st.spinner(spinner):
            job.start()  # loads the dataset here, so a download problem is reported right away
    except ExplorerError as e:
        st.error(str(e))
        return
    st.session_state["train_job"] = job
    st.session_state["train_stopping"] = False
    if model_cfg.latent_dim > 2:
        # Its map will want UMAP: compile numba's kernels now, on the core training leaves free.
        projection.warm_up_umap_in_background()


# -- drawing a job's state --------------------------------------------------------------------
def thin(rows: list, limit: int = MAX_CURVE_POINTS) -> list:
    return rows[:: max(1, -(-len(rows) // limit))]


def loss_figure(state: JobState) -> go.Figure | None:
    """Training loss per step (thin line) and test loss per epoch (markers), one panel per part."""
    if not state.steps:
        return None
    known = [p for p in PART_TITLES if p in state.steps[-1]]
    parts = known if len(known) > 2 else ["loss"]  # an AE's only part is its loss: one panel
    fig = make_subplots(rows=1, cols=len(parts), subplot_titles=[PART_TITLES[p] for p in parts])
    per_epoch = max(state.steps_per_epoch, 1)
    steps = thin(state.steps)
    x_steps = [s["step"] / per_epoch for s in steps]
    for col, part in enumerate(parts, start=1):
        fig.add_trace(
            go.Scatter(
                x=x_steps,
                y=[s.get(part) for s in steps],
                mode="lines",
                line={"width": 1, "color": TRAIN_COLOR},
                name="train (per step)",
                legendgroup="train",
                showlegend=col == 1,
            ),
            row=1,
            col=col,
        )
        tested = [h for h in state.history if h.get("test") and part in h["test"]]
        fig.add_trace(
            go.Scatter(
                x=[h["epoch"] for h in tested],
                y=[h["test"][part] for h in tested],
                mode="lines+markers",
                line={"width": 2, "color": TEST_COLOR},
                marker={"size": 7},
                name="test (per epoch)",
                legendgroup="test",
                showlegend=col == 1,
            ),
            row=1,
            col=col,
        )
    fig.update_xaxes(title_text="epoch", title_standoff=4)
    fig.update_yaxes(title_text="nats per image", row=1, col=1)
    fig.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"orientation": "h", "x": 0, "y": 1.12, "yanchor": "bottom"},
    )
    return fig


def show_curves(state: JobState) -> None:
    fig = loss_figure(state)
    if fig is not None:
        st.plotly_chart(fig, config={"displayModeBar": False})


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
    common.show_grid(
        np.concatenate([state.originals, latest]),
        ncols=len(state.originals),
        size=PREVIEW_PX,
        caption=f"Top: test images · bottom: reconstructions after epoch {epochs}",
    )


def progress_text(state: JobState, stopping: bool) -> tuple[float, str]:
    if state.status == "queued" or not state.steps_per_epoch:
        return 0.0, "Preparing the data and the model…"
    total = state.epochs * state.steps_per_epoch
    fraction = min(1.0, state.step / total)
    if stopping:
        return fraction, "Stopping… keeping what it learned so far"
    if state.status == "saving":
        return 1.0, "Testing the model and saving it…"
    eta = f" · ETA {duration(state.eta)}" if state.eta is not None else ""
    return fraction, f"Epoch {state.epoch}/{state.epochs} · step {state.step}/{total}{eta}"


def headline(job: TrainingJob) -> None:
    title = datasets.INFOS[job.dataset_name].title
    st.markdown(f"**{job.name}** · {job.model_cfg.describe()} · {title}")


@st.fragment(run_every=0.5)
def live_view() -> None:
    """Redrawn twice a second while the job runs; hands over to a full rerun when it ends."""
    job: TrainingJob = st.session_state["train_job"]
    state = job.snapshot()
    if is_done(job, state):
        # A full rerun, not a fragment one: it draws the final state without run_every and lets
        # the sidebar's picker list the new run.
        st.rerun(scope="app")
    stopping = bool(st.session_state.get("train_stopping"))
    headline(job)
    fraction, text = progress_text(state, stopping)
    st.progress(fraction, text=text)
    st.button(
        "Stop",
        key="stop_training",
        on_click=request_stop,
        disabled=stopping,
        icon=":material/stop_circle:",
        help="Ends training now; what it learned is saved.",
    )
    show_curves(state)
    show_reconstructions(state)


def metric_row(metrics: dict, is_vae: bool) -> None:
    shown = {
        "Test loss": ("loss", "{:.2f}", "the training objective, nats per image"),
        "MSE": ("mse", "{:.4f}", "mean squared error per pixel"),
        "k-NN accuracy": (
            "knn_acc",
            "{:.0%}",
            "how often a code's 5 nearest training "
            "codes have the right label: do similar images get similar codes?",
        ),
    }
    if is_vae:
        # For a VAE the -ELBO is the honest number (β-weighted loss is not a bound), and showing
        # both would show the same value twice whenever β = 1.
        del shown["Test loss"]
        shown = {"−ELBO": ("neg_elbo", "{:.2f}", "negative evidence lower bound: nats per "
                                                  "image, lower is better"),
                 "KL": ("kl", "{:.2f}", "nats the code carries about each image"), **shown}
    present = [
        (label, *v) for label, v in shown.items() if isinstance(metrics.get(v[0]), int | float)
    ]
    if not present:
        return
    for col, (label, key, fmt, about) in zip(st.columns(len(present)), present, strict=True):
        col.metric(label, fmt.format(metrics[key]), help=about)


def final_view(job: TrainingJob, state: JobState) -> None:
    name = job.name or job.out.name
    saved = state.saved_path is not None
    headline(job)
    if state.status == "finished":
        st.success(f"Saved run '{name}' — pick it in the sidebar.", icon=":material/check_circle:")
    elif state.status == "stopped":
        epochs = len(state.history)
        when = (
            f"after {epochs} full epoch{'s' if epochs != 1 else ''}"
            if epochs
            else "before the first epoch ended"
        )
        where = f"saved as '{name}'" if saved else "not saved"
        st.info(f"Stopped {when}; what it learned is {where}.", icon=":material/stop_circle:")
    else:  # diverged or failed: the message already says what to try
        st.error(state.message or "Training failed.")
        if saved:
            st.caption(f"The weights from its last good epoch were saved as '{name}'.")
    if saved:
        metric_row(state.metrics, job.model_cfg.kind == "vae")
        st.button(
            "Open it",
            key="open_trained",
            type="primary",
            icon=":material/scatter_plot:",
            on_click=open_run,
            args=(f"runs/{name}",),
            help="Shows this model on the latent map.",
        )
    show_curves(state)
    show_reconstructions(state, final=True)


# -- the page ---------------------------------------------------------------------------------
st.title("Train a model")
common.warm_up_training()
st.caption(
    "Pick a dataset and a model, press Train, and watch the loss fall and the "
    "reconstructions sharpen; the finished model is saved as a run you can explore."
)
with st.expander("What am I training?"):
    st.markdown(
        "An **autoencoder (AE)** squeezes each image into a short code and rebuilds the image "
        "from it; a **variational autoencoder (VAE)** also pushes its codes to look like draws from "
        "a standard normal, so that new codes decode to new, plausible images. "
        "**β** weighs that push against reconstruction: above 1 it gives smoother, more "
        "disentangled codes but blurrier images. The **latent size** is the length of the code: "
        "2 can be drawn as a map as it is, larger sizes reconstruct better but need a projection "
        "to be seen."
    )

if (run_id := st.session_state.pop("train_open", None)) is not None:
    # open_run already picked the model; "model" is bound to the sidebar's picker, so
    # switch_page may not write it (Streamlit raises), and it carries over by itself.
    st.switch_page(MAP_PAGE, query_params={})

settings_col, view_col = st.columns([2, 3], gap="large")

with settings_col, st.form("train_form", border=True):
    names = list(datasets.INFOS)
    s = {
        "dataset": st.selectbox(
            "Dataset",
            names,
            index=names.index(datasets.DEFAULT_DATASET),
            format_func=dataset_label,
            key="train_dataset",
            help=" · ".join(f"**{i.title}**: {i.about}" for i in datasets.INFOS.values()),
        )
    }
    c1, c2 = st.columns(2)
    s["kind"] = c1.segmented_control(
        "Model",
        ["ae", "vae"],
        default="vae",
        required=True,
        format_func=str.upper,
        key="train_kind",
        help="AE: a plain autoencoder. VAE: its codes are pushed towards N(0, I).",
    )
    s["arch"] = c2.segmented_control(
        "Body",
        ["mlp", "conv"],
        default="mlp",
        required=True,
        format_func={"mlp": "MLP", "conv": "Conv"}.get,
        key="train_arch",
        help="MLP: fully connected layers. Conv: stride-2 convolutions, better on larger images.",
    )
    c1, c2 = st.columns(2)
    s["latent"] = c1.number_input(
        "Latent size",
        min_value=2,
        max_value=256,
        value=2,
        step=1,
        key="train_latent",
        help="Length of the code. 2 is a map you can see directly; 16 or more reconstructs better.",
    )
    s["hidden"] = c2.text_input(
        "Hidden sizes",
        value="",
        placeholder="400 / 32,64",
        key="train_hidden",
        help="Comma-separated layer widths (MLP) or channels per layer (conv), e.g. 512,256. "
        "Leave empty for the body's default: 400 for MLP, 32,64 for conv.",
    )
    c1, c2 = st.columns(2)
    s["beta"] = c1.number_input(
        "β (VAE)",
        min_value=0.0,
        max_value=1000.0,
        value=1.0,
        step=0.5,
        format="%g",
        key="train_beta",
        help="Weight of the KL term; 1 is a plain VAE, 4 a β-VAE. Ignored for AE.",
    )
    s["likelihood"] = c2.selectbox(
        "Likelihood",
        ["bernoulli", "gaussian"],
        key="train_likelihood",
        format_func=str.capitalize,
        help="How reconstruction error is scored: Bernoulli (cross-entropy, sharp) or Gaussian "
        "(squared error).",
    )
    c1, c2 = st.columns(2)
    s["sparsity"] = c1.number_input(
        "Sparsity (L1 weight)",
        min_value=0.0,
        max_value=100.0,
        value=0.0,
        step=0.01,
        format="%g",
        key="train_sparsity",
        help="Penalises large codes, so few dimensions are used at once (a sparse autoencoder).",
    )
    s["denoise"] = c2.number_input(
        "Denoising noise",
        min_value=0.0,
        max_value=1.0,
        value=0.0,
        step=0.05,
        format="%g",
        key="train_denoise",
        help="Std of the noise added to inputs while training; the model must rebuild the clean "
        "image (a denoising autoencoder).",
    )
    c1, c2 = st.columns(2)
    s["epochs"] = c1.number_input(
        "Epochs",
        min_value=1,
        max_value=500,
        value=10,
        step=1,
        key="train_epochs",
        help="Passes over the training images.",
    )
    s["batch_size"] = c2.number_input(
        "Batch size",
        min_value=1,
        max_value=4096,
        value=128,
        step=32,
        key="train_batch",
        help="Images per update step.",
    )
    c1, c2 = st.columns(2)
    s["lr"] = c1.number_input(
        "Learning rate",
        min_value=1e-6,
        max_value=100.0,
        value=1e-3,
        step=1e-4,
        format="%g",
        key="train_lr",
        help="Step size of the Adam optimiser; 1e-3 is a safe start. Too large "
        "and the loss explodes.",
    )
    s["seed"] = c2.number_input(
        "Seed",
        min_value=0,
        max_value=2**31 - 1,
        value=0,
        step=1,
        key="train_seed",
        help="Same seed and settings give the same model.",
    )
    s["name"] = st.text_input(
        "Run name",
        value="",
        placeholder="automatic, e.g. mnist-5k-vae-mlp-z2",
        max_chars=64,
        key="train_name",
        help="The folder the model is saved in. Left empty, a name is made "
        "from the dataset, model and latent size.",
    )
    submitted = st.form_submit_button(
        "Train", type="primary", icon=":material/play_arrow:", width="stretch"
    )

with view_col:
    if submitted:
        start_job(s)  # its messages land here, in view, not below the fold under the form
    job = st.session_state.get("train_job")
    if job is None:
        st.info(
            "Choose the settings and press **Train**: the progress, the loss curves and the "
            "test reconstructions appear here as it learns.",
            icon=":material/model_training:",
        )
    else:
        state = job.snapshot()
        if is_done(job, state):
            final_view(job, state)
        else:
            live_view()


# -- the training replay (Inside page): watch a finished run's latent space organise itself ----
def watch_replay(run_id: str) -> None:
    # A callback runs before the sidebar's picker is drawn, so its key may still be set here.
    st.session_state["model"] = run_id
    st.session_state["train_watch"] = run_id


if st.session_state.pop("train_watch", None) is not None:
    # The model is chosen in the callback above: its query parameter belongs to the sidebar's
    # picker and cannot be set here.
    st.switch_page("explorer/ui/inside.py", query_params={"inside_tab": "Training replay"})
with view_col:
    job = st.session_state.get("train_job")
    if job is not None and is_done(job, state := job.snapshot()) and state.saved_path \
            and state.replay:
        st.button("Watch the latent space organise itself", key="train_watch_replay",
                  icon=":material/movie:", on_click=watch_replay,
                  args=(f"runs/{job.name or job.out.name}",),
                  help="Replays the test codes epoch by epoch on one map (Inside page).")
