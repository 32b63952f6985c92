"""The sidebar every page shares: the model picker (bound to the URL), the model's card, adding a
shared model, this session's training in progress, and the presenter switch."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import streamlit as st

from explorer import lessons, runs
from explorer.analysis import metric_name
from explorer.errors import ExplorerError, plain
from explorer.ui.parts import polling, url_values
from explorer.ui.parts.common import list_entries, presenter_switch


def sidebar() -> runs.ModelEntry | None:
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
        default = runs.default_entry(entries)
        url_values.keep_model_in_link(by_id, default.id)  # before the groups read the link
        shown = _group_picker(entries, by_id)
        # The options are the ids themselves ("pretrained/…", "runs/…"): a bound selectbox puts
        # its displayed text in the URL, so ids keep links short, readable and stable (and
        # free of students' names: the owner and a partial run's mark are said beside it). No
        # default option (index None): a bound widget drops its default from the URL, and a
        # link must name its model even when it is today's default.
        # "Model to explore": not the model *type* (AE, VAE, …) that Train asks for.
        chosen = st.selectbox("Model to explore", options=list(shown), key="model", index=None,
                              required=True,
                              bind="query-params", help=lessons.help("Model to explore"))
        chosen = chosen if chosen in shown else default.id
        entry, choice = by_id[chosen], shown[chosen]
        st.caption(f"{choice.group} · {plain(entry.summary)}")
        if choice.mark:
            st.caption(f":material/warning: Partial run: {plain(choice.mark)}.")
        if entry.source == "run":  # a class's run: who trained it and how it ended
            from explorer.ui.parts.class_parts import owner_caption

            owner_caption(entry)
        with st.expander("Model card"):
            show_card(entry, choice.ending)
            st.download_button(
                "Download model (.zip)", data=partial(runs.model_zip, entry.path),
                file_name=f"{entry.name}.zip", mime="application/zip", key="model_download",
                on_click="ignore", icon=":material/download:",
                help="The weights (safetensors) and this card in one file, to share; anyone can "
                     "add it with 'Add a shared model'.")
        import_model()
        for p in problems:
            st.caption(f"⚠️ Skipped a model folder: {p}")
    return entry


def _group_picker(entries: list[runs.ModelEntry], by_id: dict) -> dict:
    """The groups Shipped / Mine / This class (then a student) / Trained here, as a control above
    the picker; returns the chosen group's models {id: Choice}. The group follows the model: a
    link, "Open it" or a click on the R-D plane may choose a model of any group."""
    from explorer import classroom
    from explorer.ui.parts.class_parts import picker_context

    groups = classroom.picker_choices(entries, *picker_context())
    state = st.session_state
    if "model" not in state and st.query_params.get("model") in by_id:
        state["model"] = st.query_params["model"]  # a link's model, before its group is drawn
    of = {c.id: c for cs in groups.values() for c in cs}
    if state.get("model") not in of:  # unknown, or a classmate's run the teacher hid
        state["model"] = runs.default_entry(entries).id
    current = of[state["model"]]
    if current not in groups.get(state.get("model_group"), ()):
        state["model_group"] = current.group
    firsts = {g: cs[0].id for g, cs in groups.items()}
    st.segmented_control("Whose models", list(groups), key="model_group", required=True,
                         on_change=_first_of, args=("model_group", firsts),
                         help=lessons.help("Whose models"))
    shown = groups[state["model_group"]]
    if state["model_group"] == classroom.PICK_CLASS:
        students = classroom.picker_owners(shown)
        if state.get("model_student") not in students or current.group == classroom.PICK_CLASS \
                and current.owner != state.get("model_student"):
            state["model_student"] = current.owner if current.group == classroom.PICK_CLASS \
                else next(iter(students))
        st.selectbox("Student", list(students), key="model_student", format_func=students.get,
                     on_change=_first_of, help=lessons.help("Student"),
                     args=("model_student", {o: next(c.id for c in shown if c.owner == o)
                                             for o in students}))
        shown = [c for c in shown if c.owner == state["model_student"]]
    return {c.id: c for c in shown}


def _first_of(key: str, firsts: dict[str, str]) -> None:
    """on_change of the group or the student: its first model becomes the model (before the
    picker draws)."""
    if (value := st.session_state.get(key)) in firsts:
        st.session_state["model"] = firsts[value]


def _import_upload() -> None:
    """on_change of the uploader: runs before the picker is drawn, so it may pick the new model."""
    from explorer.ui.parts.class_parts import adding_refused

    upload = st.session_state.get("model_upload")
    if upload is None:
        return
    if why := adding_refused("shared models"):  # the backend's answer, whatever the page hid
        st.session_state["model_upload_result"] = ("error", why)
        return
    try:
        folder = runs.import_model_zip(upload.getvalue(), runs.runs_dir(),
                                          Path(upload.name).stem)
    except ExplorerError as e:
        st.session_state["model_upload_result"] = ("error", str(e))
        return
    st.session_state["model"] = f"runs/{folder.name}"
    st.session_state["model_upload_result"] = ("success", f"Added '{folder.name}' to your runs.")


def import_model() -> None:
    """Add a model someone shared (the .zip from 'Download model'), checked before it is saved."""
    from explorer.ui.parts.class_parts import adding_refused

    with st.expander("Add a shared model"):
        if why := adding_refused("shared models"):
            st.caption(why)
            if st.session_state.pop("model_upload_result", None):  # a forged upload: refused
                st.error(why)
            return
        st.file_uploader(
            "A model's .zip", type=["zip"], key="model_upload", on_change=_import_upload,
            help="Exactly card.json and model.safetensors, as 'Download model (.zip)' makes it. "
                 "Pickled PyTorch files are refused.")
        if result := st.session_state.pop("model_upload_result", None):
            kind, message = result
            (st.success if kind == "success" else st.error)(message)


NOTICE_EVERY_S = 3.0  # the sidebar's check on this session's run, from another page


def training_notice(on_train_page: bool) -> None:
    """In the sidebar, while this session's run trains: its progress, checked every few
    seconds; once it ends, a toast and a badge (until the Train page is opened), so a student
    on another page hears of it."""
    job = st.session_state.get("train_job")
    if job is None or st.session_state.get("_train_seen") == id(job):
        return
    if on_train_page:  # the page shows the run's progress and its result itself
        if not job.snapshot().active:
            st.session_state["_train_seen"] = id(job)
        return

    def notice():
        state = job.snapshot()
        polling.keep("train_notice", NOTICE_EVERY_S if state.active else None)
        if state.active:
            st.caption(f":material/model_training: Training '{job.name}'… ({state.status})")
            return
        done = {"finished": "finished", "stopped": "was stopped"}.get(state.status, "ended")
        if st.session_state.get("_train_toasted") != id(job):
            st.session_state["_train_toasted"] = id(job)
            st.toast(f"Training '{job.name}' {done}: see the Train page.",
                     icon=":material/notifications:")
        st.badge(f"Run '{job.name}' {done}", icon=":material/notifications:", color="green")

    with st.sidebar:  # looks every few seconds while the run trains; once it ended, no more
        polling.fragment("train_notice", NOTICE_EVERY_S if job.snapshot().active else None,
                         notice)


FLOOR_NOTE = ("Bernoulli on grey pixels: a grey pixel is not a 0/1 outcome, so the "
              "reconstruction cost cannot go below the images' own entropy Σ H(x) (recon_floor, "
              "about 46 nats on mnist-5k) and this −ELBO is no bound on −log p(x); a binarized "
              "model's is.")


def show_card(entry: runs.ModelEntry, ending: str = "") -> None:
    """A model's card as a table. Cards come from other people's files and st.table renders
    Markdown: a row that should hold a number shows only a number, every text is escaped."""
    card = entry.card
    metrics, train = card.get("metrics") or {}, card.get("train") or {}
    number = runs.finite_number
    # The loss named as the summary above names it (store.loss_name); every other number with
    # its unit, and "bound" only where the model's likelihood makes it one (metric_names).
    names = {"loss": ", ".join(runs.loss_name(entry.config))}
    rows = {
        "how it ended": ending or None,
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
