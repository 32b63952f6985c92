"""Compare generators: the shipped AE, VAE, β-VAE, CVAE and GAN of one dataset side by side —
sample grids at the same seed, their scores in one table, precision against recall — and any
runs trained here (a class's, each with whose it is) added beside them."""

import pandas as pd
import streamlit as st

from explorer import analysis, classroom, families, usertext
from explorer.analysis import table_in_words
from explorer.errors import ExplorerError
from explorer.families import load_prior
from explorer.figures.compare import precision_recall_figure
from explorer.ui.parts import class_parts, common, export_buttons, page_start

page_start.start_page("Compare generators", needs_model=False)
st.caption("Published comparisons often report that GAN samples are sharp but may miss modes "
           "(high precision, lower recall) and that a VAE's cover the data but blur; the table "
           "below says how these models score. The scores are measured in a small classifier's "
           f"features: the first column is the {analysis.FD_NAME}, lower when the samples' "
           "features are spread more like the test images'; precision and recall follow "
           "Kynkäänniemi et al. (2019, k = 3). The first row is a reference, not a best possible "
           "score: real training images scored against the test images (a generator can beat "
           "its precision, and its Fréchet distance depends on how many images each set has).")

every = common.list_entries()[0]
entries = [e for e in every if e.source == "pretrained"]
names = sorted({e.dataset for e in entries if families.of(e).generator_scores}) or ["mnist-5k"]
dataset = st.selectbox("Dataset", names, key="gen_dataset", bind="query-params")
seed = int(st.number_input("Seed", 0, 1_000_000, 0, key="gen_seed", bind="query-params"))
chosen = [e for e in entries if e.dataset == dataset
          and families.of(e).can("sample") and e.config.latent_dim > 2]
# Runs trained here (a class's, 2-D codes included) join the shipped ones when picked: each row
# says whose it is. The options are ids, as the link carries them; owners are said below.
runs_here = {e.id: e for e in every if e.source == "run" and e.dataset == dataset
             and families.of(e).can("sample")}
groups = classroom.picker_choices(list(runs_here.values()), *class_parts.picker_context())
owners = {c.id: {classroom.PICK_MINE: "yours", classroom.PICK_CLASS: c.owner}.get(c.group,
                                                                                "trained here")
          for cs in groups.values() for c in cs}
if runs_here:
    added = st.multiselect(
        "Add runs trained here", list(runs_here), key="gen_runs", bind="query-params",
        max_selections=4, help="Runs trained on this dataset (yours, your class's, or added "
        "from a shared file), scored and sampled like the shipped models.")
    if added:
        st.caption("Added: " + "; ".join(f"{usertext.md(runs_here[i].name)} "
                                         f"({usertext.md(owners.get(i, 'trained here'), 40)})"
                                         for i in added))
    chosen += [runs_here[i] for i in added]


def row_name(e, escaped: bool = True) -> str:
    """A row's name: a shipped model's, or a run's with whose it is (as text, not Markdown)."""
    if e.source == "pretrained":
        return e.name
    name = f"{e.name} ({owners.get(e.id, 'trained here')})"
    return usertext.md(name, 80) if escaped else name


def model_scores(path: str, content_hash: str, dataset: str) -> dict:
    return common.ask(common.view_of(path, content_hash), "scores",
                      f"Scoring {analysis.N_SAMPLES:,} samples at each of {analysis.SCORE_SEEDS} "
                      "seeds…")


data = common.get_dataset(dataset)
n_train, n_test = len(data.x_train), len(data.x_test)
try:
    table = {f"real images ({n_train:,} train vs {n_test:,} test)": analysis.score_floor(data)}
    for e in chosen:
        table[row_name(e)] = model_scores(str(e.path), e.card["content_hash"], dataset)
except ExplorerError as e:
    st.info(str(e))
    st.stop()
# A shipped latent diffusion prior over a base: the base's decoder with the learned prior, its
# scores measured the same way (5,000 samples at each of 3 seeds, against the test split) when
# it shipped, with their spreads.
with_prior = families.shipped_rows(chosen)
for e, p in with_prior:
    table[f"{e.name} + diffusion prior"] = {
        k: v for k, v in p.card["scores"]["rows"]["diffusion-ddpm"].items()
        if k.removesuffix("_sd") in ("fid", "precision", "recall")}

columns = st.columns(min(len(chosen), 3) or 1)
for i, e in enumerate(chosen):
    model = common.get_model(str(e.path), e.card["content_hash"])
    images, _ = analysis.sample(model, 16, seed=seed, data=data)
    with columns[i % len(columns)]:
        how = " (from a Gaussian fitted to its codes)" if families.of(e).codes_from_data else ""
        export_buttons.grid(images[:, 0].numpy(), ncols=4, size=48,
                            caption=f"{row_name(e, escaped=False)}{how}",
                            key=f"gen_{i}", name=e.name, settings=["16 samples", f"seed {seed}"])
for i, (e, p) in enumerate(with_prior, start=len(chosen)):
    prior = load_prior(p.path)[0]
    images = families.sample_images(prior, common.get_model(str(e.path),
                                                                   e.card["content_hash"]), 16, seed)
    with columns[i % len(columns)]:
        export_buttons.grid(images, ncols=4, size=48, key=f"gen_{i}_prior",
                            caption=f"{e.name} + diffusion prior (DDPM, 100 steps)",
                            name=f"{e.name} + diffusion prior",
                            settings=["16 samples", "DDPM, 100 steps", f"seed {seed}"])

# A score a model has no use for (class accuracy of an unconditional model) shows as "—": a
# static table, since st.dataframe prints "None" in an empty cell whatever the Styler says.
# Each cell is "mean ± sd" over the sampling seeds: the third decimal alone would claim more than
# the scores hold.
st.table(pd.DataFrame({name: {analysis.SCORE_NAMES[k]: analysis.with_spread(row, k)
                              for k in analysis.SPREAD_KEYS} for name, row in table.items()}).T)
n_compared = min(n_test, analysis.N_SAMPLES)
sizes = (f"Each model's Fréchet distance compares its {analysis.N_SAMPLES:,} samples with the "
         f"{n_test:,} test images; precision and recall compare {n_compared:,} of the samples (a "
         f"seeded random subset) with {n_compared:,} test images, since both scores change with "
         "the sets' sizes. Each number is the mean ± standard deviation over "
         f"{analysis.SCORE_SEEDS} "
         "sampling seeds (for the real images, over the subsets drawn). ")
missing = ("Class accuracy is measured for a conditional model only (the share of its samples "
           "the classifier reads as the class asked for): the other rows show —. "
           if any("class_accuracy" not in row for row in table.values()) else "")
ranked = {row_name(e): e.config.kind for e in chosen}
ranked.update({f"{e.name} + diffusion prior": "latent-diffusion" for e, _ in with_prior})
st.caption(sizes + missing + table_in_words(table, ranked))
if with_prior:
    st.caption("A row “+ diffusion prior” decodes, with that model's own decoder, codes drawn "
               "from a latent diffusion model trained on its training codes (DDPM, 100 steps; "
               "the Latent diffusion page shows it at work). Its scores were measured as the "
               "other rows' when it shipped: the mean ± standard deviation over "
               f"{analysis.SCORE_SEEDS} sampling seeds.")
export_buttons.chart(common.chart_style(precision_recall_figure(table)),
                     config={"displayModeBar": False}, key="gen_precision_recall",
                     name=dataset, settings=["generators' precision and recall", f"seed {seed}"])
