"""The sidebar every page shares: the model picker (bound to the URL), the model's card, adding a
shared model, this session's training in progress, and the presenter switch."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import streamlit as st

from explorer.analysis.metric_names import metric_name
from explorer.errors import ExplorerError, plain
from explorer.lessons import glossary
from explorer.runs import checkpoints, exports, store
from explorer.ui.parts import url_values
from explorer.ui.parts.common import list_entries, presenter_switch


def sidebar() -> store.ModelEntry | None:
    """The model picker shared by every page; the choice lives in the URL (?model=...)."""
    entries, problems = list_entries()
    with st.sidebar:
        # First, under the page list: on a 1024×768 projector it was below the sidebar's fold.
        presenter_switch()
        if not entries:
            st.warning("No models found. Train one on the Train page, or run "
                       "`python -m explorer pretrain` to rebuild the shipped models.")
            import_model()
            return None
        by_id = {e.id: e for e in entries}
        default = store.default_entry(entries)
        url_values.keep_model_in_link(by_id, default.id)
        # The options are the ids themselves ("pretrained/…", "runs/…"): a bound selectbox puts
        # its displayed text in the URL, so ids keep links short, readable and stable. No
        # default option (index None): a bound widget drops its default from the URL, and a
        # link must name its model even when it is today's default.
        # "Model to explore": not the model *type* (AE, VAE, …) that Train asks for.
        chosen = st.selectbox("Model to explore", options=list(by_id), key="model", index=None,
                              required=True,
                              bind="query-params", help=glossary.help("Model to explore"))
        chosen = chosen if chosen in by_id else default.id
        entry = by_id[chosen]
        where = "Shipped" if entry.source == "pretrained" else "Trained here"
        st.caption(f"{where} · {plain(entry.summary)}")
        if entry.source == "run":  # a class's run: who trained it and how it ended
            from explorer.ui.parts.class_parts import owner_caption

            owner_caption(entry)
        with st.expander("Model card"):
            show_card(entry)
            st.download_button(
                "Download model (.zip)", data=partial(exports.model_zip, entry.path),
                file_name=f"{entry.name}.zip", mime="application/zip", key="model_download",
                on_click="ignore", icon=":material/download:",
                help="The weights (safetensors) and this card in one file, to share; anyone can "
                     "add it with 'Add a shared model'.")
        import_model()
        for p in problems:
            st.caption(f"⚠️ Skipped a model folder: {p}")
    return entry


def _import_upload() -> None:
    """on_change of the uploader: runs before the picker is drawn, so it may pick the new model."""
    upload = st.session_state.get("model_upload")
    if upload is None:
        return
    try:
        folder = exports.import_model_zip(upload.getvalue(), store.runs_dir(),
                                          Path(upload.name).stem)
    except ExplorerError as e:
        st.session_state["model_upload_result"] = ("error", str(e))
        return
    st.session_state["model"] = f"runs/{folder.name}"
    st.session_state["model_upload_result"] = ("success", f"Added '{folder.name}' to your runs.")


def import_model() -> None:
    """Add a model someone shared (the .zip from 'Download model'), checked before it is saved."""
    with st.expander("Add a shared model"):
        st.file_uploader(
            "A model's .zip", type=["zip"], key="model_upload", on_change=_import_upload,
            help="Exactly card.json and model.safetensors, as 'Download model (.zip)' makes it. "
                 "Pickled PyTorch files are refused.")
        if result := st.session_state.pop("model_upload_result", None):
            kind, message = result
            (st.success if kind == "success" else st.error)(message)


def training_notice(on_train_page: bool) -> None:
    """In the sidebar, while this session's run trains: its progress, checked every few
    seconds; once it ends, a toast and a badge (until the Train page is opened), so a student
    on another page hears of it."""
    job = st.session_state.get("train_job")
    if job is None or st.session_state.get("_train_seen") == id(job):
        return
    if on_train_page and not job.snapshot().active:
        st.session_state["_train_seen"] = id(job)  # the page shows the result itself
        return

    @st.fragment(run_every=3.0)
    def notice():
        state = job.snapshot()
        if state.active:
            st.caption(f":material/model_training: Training '{job.name}'… ({state.status})")
            return
        if on_train_page:
            return
        done = {"finished": "finished", "stopped": "was stopped"}.get(state.status, "ended")
        if st.session_state.get("_train_toasted") != id(job):
            st.session_state["_train_toasted"] = id(job)
            st.toast(f"Training '{job.name}' {done}: see the Train page.",
                     icon=":material/notifications:")
        st.badge(f"Run '{job.name}' {done}", icon=":material/notifications:", color="green")

    with st.sidebar:
        notice()


FLOOR_NOTE = ("Bernoulli on grey pixels: a grey pixel is not a 0/1 outcome, so the "
              "reconstruction cost cannot go below the images' own entropy Σ H(x) (recon_floor, "
              "about 46 nats on mnist-5k) and this −ELBO is no bound on −log p(x); a binarized "
              "model's is.")


def show_card(entry: store.ModelEntry) -> None:
    """A model's card as a table. Cards come from other people's files and st.table renders
    Markdown: a row that should hold a number shows only a number, every text is escaped."""
    card = entry.card
    metrics, train = card.get("metrics") or {}, card.get("train") or {}
    number = checkpoints.finite_number
    # The loss named as the summary above names it (store.loss_name); every other number with
    # its unit, and "bound" only where the model's likelihood makes it one (metric_names).
    names = {"loss": ", ".join(store.loss_name(entry.config))}
    rows = {
        "dataset": (card.get("dataset") or {}).get("name"),
        "epochs": number(train.get("epochs_done")),
        "batch size": number(train.get("batch_size")),
        "learning rate": number(train.get("lr")),
        "precision": train.get("precision_used") if train.get("precision_used") in (
            "fp32", "bf16") else None,
        "seed": number(card.get("seed")),
        **{names.get(k) or metric_name(k, entry.config): round(v, 4) for k, v in metrics.items()
           if isinstance(v, float)},
    }
    # One row per field: a row of a dozen columns would not fit the sidebar. Every text escaped.
    shown = {plain(k): str(v) if number(v) is not None else plain(v)
             for k, v in rows.items() if v is not None}
    st.table({"field": list(shown), "value": list(shown.values())}, hide_index=True,
             hide_header=True)
    if (card.get("config") or {}).get("likelihood", "bernoulli") == "bernoulli" \
            and "kl" in metrics:
        st.caption(FLOOR_NOTE)
    st.json(card.get("config", {}), expanded=False)
