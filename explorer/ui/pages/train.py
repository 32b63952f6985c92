"""Train page: a form of settings, a job handed to the job engine, and a live view of it.

The page only collects settings and draws what the job reports: the loop, the evaluation and the
saving all happen in a worker outside the web server (:mod:`explorer.jobs`), which this page polls
from a fragment (:mod:`explorer.ui.parts.train_view`). One job per browser session; its handle lives in
``st.session_state["train_job"]``.
"""

from __future__ import annotations

import streamlit as st

from explorer import analysis, data, families, lessons, runs
from explorer.errors import ConfigError, ExplorerError
from explorer.families import ModelConfig, parse_hidden
from explorer.jobs import JobSpec, get_engine
from explorer.training import TrainConfig
from explorer.ui import pages
from explorer.ui.parts import class_parts, common, diffusion_train, job_owner, page_start
from explorer.ui.parts.add_dataset import add_dataset_expander
from explorer.ui.parts.train_form import (
    FIELDS,
    RUN_NAME,
    base_fields,
    base_runs,
    dataset_label,
    draw_field,
    model_types,
    steps_advice,
)
from explorer.ui.parts.train_view import final_view, live_view, progress_view


# -- starting a job ---------------------------------------------------------------------------
def start_job(settings: dict) -> bool:
    """Validate the form's settings and start a job; every problem becomes one st.error line.
    True when a job started."""
    job = st.session_state.get("train_job")
    if job is not None and job.snapshot().active:
        st.warning(
            "A model is already training in this tab. Stop it or wait for it to finish "
            "before starting another."
        )
        return False
    if families.get(settings["kind"]).base_run:  # a prior over a trained run's codes
        base = settings["base"]
        return diffusion_train.start_over(
            base, data.get_info(base.dataset).n_train, settings["prior_epochs"],
            settings["codes"], int(settings["seed"]), int(settings["batch_size"]),
            float(settings["lr"]), settings["name"])
    try:
        info = data.get_info(settings["dataset"])
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
            n_classes=len(info.class_names) if families.get(settings["kind"]).conditional else 0,
        )
        train_cfg = TrainConfig(
            epochs=int(settings["epochs"]),
            batch_size=int(settings["batch_size"]),
            lr=float(settings["lr"]),
            seed=int(settings["seed"]),
            precision=settings["precision"],
        )
        if typed := settings["name"].strip():
            folder = runs.sanitize_run_name(typed)
            if runs.is_taken(folder):
                raise ConfigError(f"A run named '{folder}' already exists; choose another name, "
                                  f"e.g. '{runs.unique_run_name(folder)}'.")
            if folder != typed and st.session_state.get("_train_name_agreed") != typed:
                # Said before training, not found out afterwards; a second press agrees.
                st.session_state["_train_name_agreed"] = typed
                st.warning(f"A folder cannot be called '{typed}': this run will be saved as "
                           f"**runs/{folder}**. Press **Train** again to go ahead, or change "
                           "the name.", icon=":material/edit:")
                return False
        else:  # the same settings trained again get the next free name, not an error
            folder = runs.unique_run_name(runs.suggested_run_name(info.name, model_cfg))
        spinner = (
            "Preparing the data…"
            if data.is_available(info.name)
            else (f"Downloading {info.title} (once; it is cached for next time)…")
        )
        with st.spinner(spinner):
            dataset = common.get_dataset(info.name)  # a download problem is reported right away
        # Room for the saved model is checked now, before the work, not after it.
        runs.check_writable(runs.runs_dir(), runs.weights_limit(model_cfg))
        spec = JobSpec.build(model_cfg, train_cfg, info.name, runs.new_run_path(folder),
                             n_train=len(dataset.x_train))
        # The engine reserves the folder's name now: the name shown is the one it will have.
        engine = get_engine()
        job = engine.submit(spec, owner=job_owner.owner_for(engine),
                            student=class_parts.student_account())
        class_parts.track(job)  # a student's run is recorded in their class
    except ExplorerError as e:
        st.error(str(e))
        return False
    st.session_state["train_job"] = job
    st.session_state["train_stopping"] = False
    if model_cfg.latent_dim > 2:
        # Its map will want UMAP: compile numba's kernels now, on the core training leaves free.
        analysis.warm_up_umap_in_background()
    return True


# -- the page ---------------------------------------------------------------------------------
page_start.start_page("Train a model", needs_model=False)
engine = get_engine()  # created once per server; it starts the workers' fork server early
presenting = common.presenting()
if presenting and (job := st.session_state.get("train_job")) is not None \
        and job.snapshot().active:
    # Presenter mode: a live run is the whole page, right under the title. On a projector the
    # form is a single column screens tall, and the progress, curves and reconstructions beside
    # it would be far above the Train button the teacher just pressed, out of sight. The form
    # comes back (with its settings) when the run ends.
    if engine.notice:
        st.warning(engine.notice, icon=":material/cloud_off:")
    live_view()
    st.caption("The settings come back when this run ends.")
    st.stop()
st.caption(
    "Pick a dataset and a model, press Train, and watch the loss fall and the "
    "reconstructions sharpen; the finished model is saved as a run you can explore."
)
with st.expander("What am I training?"):
    st.markdown(
        "An **autoencoder (AE)** squeezes each image into a short code and rebuilds the image "
        "from it; a **variational autoencoder (VAE)** also pushes its codes to look like draws from "
        "a standard normal, so that new codes decode to new, plausible images. "
        "**β** weighs that push against reconstruction: above 1 the codes carry less (fewer "
        "dimensions in use) and the images blur; it is often said to give more disentangled "
        "codes, one factor per dimension, but that is not guaranteed (Locatello et al. 2019) "
        "and this app does not measure it. The **latent size** is the length of the code: "
        "2 can be drawn as a map as it is, larger sizes reconstruct better but need a projection "
        "to be seen."
    )

add_dataset_expander("train_dataset")  # before the form: a new set is picked in its list
settings_col, view_col = st.columns([1.45, 1], gap="medium")  # the model types on one row at 1024 px

# Not an st.form: the fields that apply to the chosen model type, and the number of learning
# steps the settings make, follow each choice at once. The few settings a student fills in come
# first, Train under them (on screen at 1024×768), the rest under "Advanced".
with settings_col, st.container(border=True, key="train_form"):
    names = list(data.INFOS)
    s = {
        "dataset": st.selectbox(
            "Dataset",
            names,
            index=names.index(dataset)
            if (dataset := common.form_start("train", "train_dataset", data.DEFAULT_DATASET))
            in names else 0,
            format_func=dataset_label,
            key="train_dataset",
            help=lessons.help("Dataset") + "\n\n"
            + " · ".join(f"**{i.title}**: {i.about}" for i in data.INFOS.values()),
        )
    }
    bases = base_runs(common.list_entries()[0], s["dataset"])  # whose codes a prior can learn
    kinds = model_types(bases)
    if st.session_state.get("train_kind", "vae") not in kinds:  # no base run of this dataset
        st.session_state["train_kind"] = "vae"
    s["kind"] = st.segmented_control(
        "Model type",
        kinds,
        default=kind if (kind := common.form_start("train", "train_kind", "vae")) in kinds
        else "vae",
        required=True,
        format_func=lambda kind: families.get(kind).label,
        wrap=False,  # one row at 1024 px with the sidebar open ("GAN" wrapped alone)
        key="train_kind",
        help=lessons.help("Model type"),
    )
    if families.get(s["kind"]).base_run:  # a prior over a base run's codes
        s.update(base_fields(st, bases))
    basic = [f for f in FIELDS if not f.advanced and f.applies(s["kind"])]
    advanced = [f for f in FIELDS if f.advanced and f.applies(s["kind"])]
    basic.append(RUN_NAME)
    for i in range(0, len(basic), 2):  # two a row even in a narrow column (columns would stack)
        with st.container(horizontal=True, wrap=False):
            for field in basic[i : i + 2]:
                s[field.setting] = draw_field(st, field)
    train_slot, warning_slot = st.container(), st.container()  # filled once all is chosen
    with st.expander("Advanced"):
        s["arch"] = st.segmented_control(
            "Architecture",
            ["mlp", "conv"],
            default=common.form_start("train", "train_arch", "mlp"),
            required=True,
            format_func={"mlp": "MLP", "conv": "Conv"}.get,
            key="train_arch",
            help=lessons.help("Architecture"),
        )
        for i in range(0, len(advanced), 2):
            with st.container(horizontal=True, wrap=False):
                for field in advanced[i : i + 2]:
                    s[field.setting] = draw_field(st, field)
    for field in FIELDS:  # a setting that does not apply to this type keeps its neutral value
        s.setdefault(field.setting, field.default)
    common.remember_form("train", {  # a hidden field's last value comes back with its type
        **st.session_state.get("_form_train", {}),
        "train_dataset": s["dataset"], "train_kind": s["kind"], "train_arch": s["arch"],
        **{f.key: s[f.setting] for f in (*basic, *advanced)},
        **({"train_base": s["base"].id} if "base" in s else {})})
    if advice := steps_advice(data.INFOS[s["dataset"]].n_train,
                              int(s.get("prior_epochs", s["epochs"])),
                              int(s["batch_size"])):
        warning_slot.warning(advice, icon=":material/speed:")
    submitted = train_slot.button("Train", type="primary", icon=":material/play_arrow:",
                                  width="stretch", key="train_go")

with settings_col:  # a prior over a trained model's codes is trained on its own page
    st.page_link(pages.path("diffusion"), icon=":material/blur_on:",
                 label="A latent diffusion prior over an AE's or VAE's codes: Latent diffusion")
with view_col:
    if engine.notice:
        st.warning(engine.notice, icon=":material/cloud_off:")
# A problem with the settings is said where the teacher is looking: beside the form's top on a
# wide page, right under the Train button in presenter mode (there the form is a long column).
with settings_col if presenting else view_col:
    started = submitted and start_job(s)
    if started and presenting:
        st.rerun()  # the run now takes the page (above)
with view_col:
    job = st.session_state.get("train_job")
    if families.get(s["kind"]).base_run:  # the prior's progress and loss; it opens on its page
        if job is not None and job.snapshot().active:
            progress_view()  # this session's other run, still training (the sidebar says none)
        diffusion_train.prior_view(pages.path("diffusion"))
    elif job is None:
        st.info(
            "Choose the settings and press **Train**: the progress, the loss curves and the "
            "test reconstructions appear here as it learns.",
            icon=":material/model_training:",
        )
    else:
        state = job.snapshot()
        if state.active:
            live_view(bring_into_view=started)
        else:
            final_view(job, state)


# -- the training replay (Inside page): watch a finished run's latent space organise itself ----
with view_col:
    job = st.session_state.get("train_job")
    if job is not None and not (state := job.snapshot()).active and state.saved_path \
            and state.replay:
        st.button("Watch the latent space organise itself", key="train_watch_replay",
                  icon=":material/movie:", on_click=pages.open_page,
                  args=("inside", {"inside_tab": "Training replay"},
                        f"runs/{job.name}"),
                  help="Replays the test codes epoch by epoch on one map (Inside page).")
