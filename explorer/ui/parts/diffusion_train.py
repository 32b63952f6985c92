"""The Latent diffusion page's training part: a prior over the sidebar model's codes, trained as
a job of the shared queue (one per browser session, with the other runs), its loss live and a
Stop button. The job's handle lives in ``st.session_state["ld_job"]``."""

from __future__ import annotations

import streamlit as st

from explorer import families
from explorer.errors import ExplorerError
from explorer.families.latent_diffusion import DiffusionConfig, DiffusionTrainConfig
from explorer.families.latent_diffusion.jobs import job_spec
from explorer.figures.plots import loss_figure
from explorer.jobs import get_engine
from explorer.runs import store
from explorer.ui.parts import common

JOB = "ld_job"


def start(cur, epochs: int, codes: str, seed: int) -> None:
    job = st.session_state.get(JOB)
    if job is not None and job.snapshot().active:
        st.warning("A prior is already training in this tab: stop it or wait for it.")
        return
    try:
        cfg = DiffusionConfig(latent_dim=cur.cfg.latent_dim, hidden=128 if
                              cur.cfg.latent_dim <= 2 else 256, blocks=2, codes=codes)
        train_cfg = DiffusionTrainConfig(epochs=epochs, seed=seed)
        folder = store.unique_run_name(f"{cur.entry.name}-diffusion")
        spec = job_spec(cur.entry.id, cfg, train_cfg, store.new_run_path(folder),
                        len(cur.data.x_train))
        st.session_state[JOB] = get_engine().submit(spec, owner=common.session_owner())
    except ExplorerError as e:
        st.error(str(e))


@st.fragment(run_every=1.0)
def live() -> None:
    job = st.session_state.get(JOB)
    if job is None:
        return
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
        fig.update_yaxes(title_text="ε-prediction MSE per dimension", row=1, col=1)
        st.plotly_chart(common.chart_style(fig), config={"displayModeBar": False}, key="ld_loss")
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
