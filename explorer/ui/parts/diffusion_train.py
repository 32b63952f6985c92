"""The Latent diffusion page's training part: a prior over the sidebar model's codes, trained as
a job of the shared queue (one per browser session, with the other runs), its loss live and a
Stop button. The job's handle lives in ``st.session_state["ld_job"]``."""

from __future__ import annotations

import streamlit as st

from explorer import families, runs
from explorer.errors import ExplorerError
from explorer.families import DiffusionConfig, DiffusionTrainConfig, job_items, job_model
from explorer.figures.plots import loss_figure
from explorer.jobs import JobSpec, get_engine
from explorer.ui.parts import common, export_buttons, job_owner

JOB = "ld_job"


def start(cur, epochs: int, codes: str, seed: int) -> None:
    start_over(cur.entry, len(cur.data.x_train), epochs, codes, seed)


def start_over(entry, n_train: int, epochs: int, codes: str, seed: int, batch_size: int = 256,
               lr: float = 1e-3, name: str = "") -> bool:
    """Start a prior over the codes of the run `entry` (a store entry of an AE or VAE whose
    training split has `n_train` images) in `name` (else "<base>-diffusion", the next free one);
    every problem is one st.error line. True when a job started (in ``st.session_state[JOB]``)."""
    job = st.session_state.get(JOB)
    if job is not None and job.snapshot().active:
        st.warning("A prior is already training in this tab: stop it or wait for it.")
        return False
    try:
        latent_dim = entry.config.latent_dim
        cfg = DiffusionConfig(latent_dim=latent_dim, hidden=128 if latent_dim <= 2 else 256,
                              blocks=2, codes=codes)
        train_cfg = DiffusionTrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
        folder = runs.sanitize_run_name(name) if name.strip() else \
            runs.unique_run_name(f"{entry.name}-diffusion")
        if runs.is_taken(folder):
            raise ExplorerError(f"A run named '{folder}' already exists; choose another name, "
                                f"e.g. '{runs.unique_run_name(folder)}'.")
        spec = JobSpec.over_run(job_model(entry.id, cfg), train_cfg.to_dict(),
                                runs.new_run_path(folder), job_items(n_train))
        engine = get_engine()
        st.session_state[JOB] = engine.submit(spec, owner=job_owner.owner_for(engine))
    except ExplorerError as e:
        st.error(str(e))
        return False
    return True


def live() -> None:
    """The prior's progress and loss: redrawn every second while it is queued or training, and
    drawn once otherwise (a tab with no job in flight polls nothing)."""
    job = st.session_state.get(JOB)
    if job is None:
        return
    st.fragment(run_every=1.0 if job.snapshot().active else None)(_live)()


def _live() -> None:
    job = st.session_state[JOB]
    job_owner.reclaim_session()  # a tab that reconnected reruns only this: its job is still its
    state = job.snapshot()
    total = max(state.epochs * state.steps_per_epoch, 1)
    if state.status == "queued":
        st.progress(0.0, text=f"Queued: number {state.position} in line")
    elif state.active:
        st.progress(min(state.step / total, 1.0),
                    text=f"Epoch {state.epoch}/{state.epochs} · step {state.step}/{total}")
        st.button("Stop", key="ld_stop", on_click=job.stop, icon=":material/stop_circle:",
                  help="Stops and keeps what it learned so far.")
    else:
        if state.saved_path:
            st.success(f"{state.message} Saved as runs/{job.name}.")
        else:
            st.info(state.message or state.status)
    fig = loss_figure(state)
    if fig is not None:
        fig.update_layout(yaxis_title_text="ε-prediction MSE per dimension")  # the first panel
        export_buttons.chart(common.chart_style(fig), config={"displayModeBar": False},
                             key="ld_loss", name=job.name, settings=["training curves"])
    if not state.active and st.session_state.get("ld_job_seen") != job.name:
        st.session_state["ld_job_seen"] = job.name
        st.rerun()  # the whole page: the new prior joins the list


def train_section(cur, expanded: bool) -> None:
    posterior = families.of(cur.cfg).posterior  # codes can be drawn from q(z|x)
    with st.expander("Train a diffusion prior over this model", expanded=expanded):
        with st.form("ld_train"):
            c1, c2, c3 = st.columns(3)
            epochs = c1.number_input("Epochs", 1, 2000, 200, key="ld_epochs")
            codes = c2.radio("Codes to learn from", ["mean", "draw"], key="ld_codes",
                             horizontal=True,
                             disabled=not posterior,
                             help="The base's posterior means, or a fresh draw z ~ q(z|x) of "
                                  "each training image every epoch (a VAE).")
            seed = c3.number_input("Seed", 0, 1_000_000, 0, key="ld_train_seed")
            if st.form_submit_button("Train", type="primary", icon=":material/model_training:"):
                start(cur, int(epochs), codes if posterior else "mean", int(seed))
        st.caption(f"It learns the codes of {cur.entry.id}'s {len(cur.data.x_train)} training "
                   "images, in the same queue as every other run; a few hundred epochs take a "
                   "minute or two of one core.")
        live()


def prior_view(page) -> None:
    """The Train page's view of a prior (Model type: latent diffusion): its progress and loss
    while it trains, and where to explore it, the Latent diffusion page (`page`)."""
    if st.session_state.get(JOB) is None:
        st.info("Choose the base run whose codes the prior learns and press **Train**: its loss "
                "appears here as it learns. A few hundred epochs take a minute or two of one "
                "core.", icon=":material/blur_on:")
    else:
        live()
    st.page_link(page, icon=":material/blur_on:",
                 label="Explore a prior: the reverse process on the map, its samples beside "
                       "the base's own (Latent diffusion)")
