"""Reconstructions page: originals beside what each model (and PCA of the same size) makes of them.

The classic lesson: is an autoencoder better than PCA with as many components as its code?
"""

import numpy as np
import pandas as pd
import plotly.colors
import plotly.express as px
import streamlit as st

from explorer import analysis, runs
from explorer.errors import ExplorerError, plain
from explorer.ui.parts import common, export_buttons, page_start, theory

cur = page_start.start_page("Reconstructions", needs="encode")
theory.explain(
    "The top row is test images the models never trained on. Each row below is what a model "
    "makes of them: the image squeezed into its code and decoded again, x̂ = decoder(encoder(x)). "
    "PCA with as many components as the code is the best *flat* squeeze, the baseline a network "
    "has to beat. MSE is the mean squared difference per pixel (lower is better); the heat map "
    "at the bottom shows where in the image the error is."
)

x_test, y_test, names = cur.data.x_test, cur.labels, cur.names


def with_errors(x, x_hat):
    """(N, H, W) reconstructions of the test split and their per-image errors."""
    x_hat = np.asarray(x_hat, dtype=np.float32).reshape(x.shape)
    errors = analysis.image_errors(x, x_hat)
    return x_hat[:, 0], {k: np.asarray(v) for k, v in errors.items()}


def model_reconstructions(path: str, content_hash: str, dataset: str):
    """(N, H, W) what the model makes of every test image, and each image's errors (its view's)."""
    x_hat, errors = common.ask(common.view_of(path, content_hash), "reconstructions",
                               "Reconstructing the test set…")
    return x_hat[:, 0], errors


@st.cache_data(max_entries=8, show_spinner="Fitting the PCA baseline…")
def pca_reconstructions(dataset: str, n_components: int):
    data = common.get_dataset(dataset)
    pca = analysis.pca_baseline(data.x_train, n_components, seed=0)
    return with_errors(data.x_test, analysis.pca_reconstruct(pca, data.x_test))


entries, _ = common.list_entries()
same_data = [e for e in entries if e.dataset == cur.entry.dataset and e.id != cur.entry.id]
k = cur.cfg.latent_dim

others = st.multiselect(
    "Compare with (same dataset, up to 2 more models)",
    [e.id for e in same_data],
    default=[e.id for e in same_data if e.config.latent_dim == k][:1],
    format_func=lambda i: next(e.name for e in same_data if e.id == i),
    max_selections=2,
    key="compare_models",
    bind="query-params",
)
show_pca = st.toggle(f"PCA baseline with {k} components", value=True, key="compare_pca",
                     bind="query-params")

c1, c2, c3 = st.columns([2, 2, 1])
how = c1.segmented_control("Images", ["random", "by class", "by index"], default="random",
                           key="compare_how", bind="query-params")
n = c2.slider("How many", 4, 16, 8, key="compare_n", bind="query-params")
worst_first = c3.toggle("Worst first", key="compare_worst", bind="query-params",
                        help="Sort by the first model's error, worst at the left.")

# Each row's name -> (reconstructions, errors); the current model's row first. A model that
# cannot be loaded or computed with (even one named in a shared link) loses only its own row.
recon = {}
for e in [cur.entry, *(e for e in same_data if e.id in others)]:
    try:
        recon[e.name] = model_reconstructions(str(e.path), e.card.get("content_hash", ""),
                                              e.dataset)
    except ExplorerError as err:
        if e is cur.entry:
            st.error(str(err))
            st.stop()
        st.warning(f"{runs.run_label(e.path)} cannot be compared: {err}")
if show_pca:
    recon[f"PCA ({k})"] = pca_reconstructions(cur.entry.dataset, k)
first_errors = recon[cur.entry.name][1]["mse"]

if how == "by class" and len(names) > 1:
    cls = st.selectbox("Class", range(len(names)), format_func=lambda c: names[c],
                       key="compare_class", bind="query-params")
    pool = np.flatnonzero(y_test == cls)
elif how == "by index":
    # The default is a seeded, class-mixed sample: a split sorted by class starts with zeros.
    sample = np.sort(analysis.mixed_indices(y_test, 8, seed=analysis.REFERENCE_SEED))
    text = st.text_input("Test image numbers (comma-separated)", ",".join(map(str, sample)),
                         key="compare_idx", bind="query-params")
    try:
        pool = np.array([int(t) for t in text.replace(" ", "").split(",") if t])
        bad = pool[(pool < 0) | (pool >= len(x_test))]
        if len(bad) or not len(pool):
            raise ValueError
    except ValueError:
        st.error(f"Give whole numbers from 0 to {len(x_test) - 1}, separated by commas.")
        st.stop()
else:
    seed = common.setting("number_input", "Seed", "compare_seed", 0, lo=0, hi=10_000, width=200)
    pool = np.random.default_rng(int(seed)).permutation(len(x_test))
if worst_first:
    pool = pool[np.argsort(-first_errors[pool], kind="stable")]
chosen = pool[:n]

st.markdown("**Originals**")
common.show_images([x_test[i] for i in chosen], [f"#{i} · {names[y_test[i]]}" for i in chosen])
for name in recon:
    x_hat, errors = recon[name]
    st.markdown(f"**{plain(name)}**")
    common.show_images([x_hat[i] for i in chosen],
                       [f"MSE {errors['mse'][i]:.4f}" for i in chosen])
# One picture to take away: originals on top, then each row of reconstructions.
export_buttons.images([x_test[i, 0].numpy() for i in chosen]
                      + [recon[name][0][i] for name in recon for i in chosen],
                      len(chosen), name=" vs ".join(recon), key="compare_rows",
                      settings=["originals, then each model's reconstructions"])

st.subheader("Average over the test set")
table = pd.DataFrame(
    [{"model": name, "MSE": recon[name][1]["mse"].mean(), "PSNR (dB)": recon[name][1]["psnr"].mean(),
      "worst MSE": recon[name][1]["mse"].max()} for name in recon]
).set_index("model")
st.dataframe(table.style.format("{:.4f}"), width="content")

st.subheader("Where the error is")
pick = st.selectbox("Image", chosen.tolist(), format_func=lambda i: f"#{i} · {names[y_test[i]]}",
                    key="compare_heat", bind="query-params")
maps = np.stack([np.abs(recon[name][0][pick] - x_test[pick, 0].numpy()) for name in recon])
# Magma as rgb() strings: its dark end, #000004, is one of the placeholder colours Streamlit's
# chart theme swaps for its own (a pink), so zero error would look like error.
magma = ["rgb({}, {}, {})".format(*plotly.colors.hex_to_rgb(c))
         for c in plotly.colors.sequential.Magma]
fig = px.imshow(maps, facet_col=0, color_continuous_scale=magma, zmin=0, zmax=1,
                labels={"color": "|x − x̂|"})
for a, name in zip(fig.layout.annotations, recon, strict=False):
    a.text = name
fig.update_xaxes(showticklabels=False).update_yaxes(showticklabels=False)
fig.update_layout(height=common.px(260), margin=dict(l=0, r=0, t=30, b=0))
export_buttons.chart(common.chart_style(fig), key="compare_heatmap", name=" vs ".join(recon),
                     settings=[f"|x − x̂| of test image #{pick}"])
