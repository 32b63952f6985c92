"""Compare generators: the shipped AE, VAE, β-VAE, CVAE and GAN of one dataset side by side —
sample grids at the same seed, their scores in one table, precision against recall."""

import pandas as pd
import streamlit as st

from explorer import families, scores
from explorer.errors import ExplorerError
from explorer.figures_compare import precision_recall_figure
from explorer.generate import sample
from explorer.ui import common

common.start_page("Compare generators", needs_model=False)
st.caption("Published comparisons often report that GAN samples are sharp but may miss modes "
           "(high precision, lower recall) and that a VAE's cover the data but blur; the table "
           "below says how these models score. The scores are measured in a small classifier's "
           f"features: the first column is the {scores.FD_NAME}, lower when the samples' "
           "features are spread more like the test images'; precision and recall follow "
           "Kynkäänniemi et al. (2019, k = 3). The first row is the floor: real training images "
           "scored against the test images.")

entries = [e for e in common.list_entries()[0] if e.source == "pretrained"]
names = sorted({e.dataset for e in entries if families.of(e).generator_scores}) or ["mnist-5k"]
dataset = st.selectbox("Dataset", names, key="gen_dataset", bind="query-params")
seed = int(st.number_input("Seed", 0, 1_000_000, 0, key="gen_seed", bind="query-params"))
chosen = [e for e in entries if e.dataset == dataset
          and families.of(e).can("sample") and e.config.latent_dim > 2]


@st.cache_data(max_entries=64, show_spinner="Scoring 5,000 samples…")
def model_scores(path: str, content_hash: str, dataset: str) -> dict:
    return scores.score_model(common.get_model(path, content_hash), common.get_dataset(dataset),
                              content_hash=content_hash)


data = common.get_dataset(dataset)
try:
    table = {"real (train vs test)": scores.floor(data)}
    for e in chosen:
        table[e.name] = model_scores(str(e.path), e.card["content_hash"], dataset)
except ExplorerError as e:
    st.info(str(e))
    st.stop()

columns = st.columns(min(len(chosen), 3) or 1)
for i, e in enumerate(chosen):
    model = common.get_model(str(e.path), e.card["content_hash"])
    images, _ = sample(model, 16, seed=seed, data=data)
    with columns[i % len(columns)]:
        how = " (from a Gaussian fitted to its codes)" if families.of(e).codes_from_data else ""
        common.show_grid(images[:, 0].numpy(), ncols=4, size=48, caption=f"{e.name}{how}")

# A score a model has no use for (class accuracy of an unconditional model) shows as "—": a
# static table, since st.dataframe prints "None" in an empty cell whatever the Styler says.
frame = pd.DataFrame(table).T.rename(columns=scores.SCORE_NAMES)
st.table(frame.style.format(precision=scores.SHOWN_DECIMALS, na_rep="—"))
missing = ("Class accuracy is measured for a conditional model only (the share of its samples "
           "the classifier reads as the class asked for): the other rows show —. "
           if frame.isna().to_numpy().any() else "")
st.caption(missing + scores.table_in_words(table, {e.name: e.config.kind for e in chosen}))
st.plotly_chart(common.chart_style(precision_recall_figure(table)),
                config={"displayModeBar": False})
