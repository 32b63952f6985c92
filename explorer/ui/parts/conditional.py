"""Page parts for a conditional model (CVAE): "which digit?" and "same style, another digit"."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from explorer import families
from explorer.ui.parts import common, export_buttons


def which_class(cur: common.Current) -> int:
    """The class a conditional model is asked to draw (in the URL: ?sample_class=...)."""
    names = cur.names
    return st.selectbox(f"Which {'digit' if len(names) == 10 else 'class'}?", range(len(names)),
                        format_func=lambda c: names[c], key="sample_class", bind="query-params")


def same_style_view(cur: common.Current) -> None:
    """Keep a test image's code z, change the label: what z holds once the class is given."""
    st.subheader("Same style, another digit")
    st.caption("A conditional VAE is told the class, so its code z only has to hold the rest: "
               "slant, thickness, size — the style. Encode one test image with its label, keep "
               "z, and decode it with every label.")
    y_test = cur.labels
    n = len(y_test)
    idx = st.number_input("Test image #", 0, n - 1, 0, key="style_image", bind="query-params")
    x = cur.data.x_test[int(idx)]
    y = int(y_test[int(idx)])
    common.show_images([x.numpy()], [f"#{idx} · {cur.names[y]}"], size=112)
    images = families.same_style(cur.model, torch.as_tensor(x), y, range(len(cur.names)))
    export_buttons.grid(images[:, 0].numpy() if images.shape[1] == 1 else images.numpy(),
                        ncols=len(cur.names), size=72, key="style_grid", name=cur.entry.name,
                        caption="the same z decoded as " + ", ".join(cur.names),
                        settings=[f"the style of test image #{idx} with every label"])
    st.caption("The grid below keeps z from the prior instead: each row one z, each column one "
               "class.")
    z = np.repeat(np.random.default_rng(0).standard_normal((4, cur.cfg.latent_dim)),
                  len(cur.names), axis=0)
    labels = np.tile(np.arange(len(cur.names)), 4)
    with torch.inference_mode():
        grid = cur.model.decode(torch.from_numpy(z).float(), torch.from_numpy(labels))
    export_buttons.grid(grid[:, 0].numpy(), ncols=len(cur.names), size=56, key="styles_grid",
                        caption="four styles × every class", name=cur.entry.name,
                        settings=["four styles × every class"])
