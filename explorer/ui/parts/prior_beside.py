"""A model with its own prior beside the same model with a learned (latent diffusion) prior over
its codes: the Rate and distortion page's view of the models on its plane as generators. Both
rows are scored one way (explorer.families.latent_diffusion.evaluate: 5,000 samples at each of
3 seeds, against the test split, in the shipped classifier's features), so they can be compared."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer import analysis, families
from explorer.ui import pages
from explorer.ui.parts import common

ROWS = {"prior": "z ~ N(0, I)", "diffusion-ddpm": "+ diffusion prior (DDPM)",
        "reconstructions": "reconstructions (the decoder's ceiling)"}


@st.cache_resource(max_entries=8, show_spinner=False)
def _prior(path: str, content_hash: str):
    return families.load_prior(path)[0]


def with_learned_prior(entries: list, current) -> None:
    """For the models `entries` (store entries on the plane) that have a scored diffusion prior:
    their scores with N(0, I) and with the prior, side by side; for `current` (the sidebar's
    model), if it is one of them, its samples both ways at one seed."""
    rows = families.scored_rows(entries)
    if not rows:
        return
    st.subheader("The same models with a learned prior")
    table = {}
    for e, p in rows:
        for key, what in ROWS.items():
            if (row := p.card["scores"]["rows"].get(key)) is not None:
                table[f"{e.name}, {what}"] = {analysis.SCORE_NAMES[k]: analysis.with_spread(row, k)
                                              for k in ("fid", "precision", "recall")}
    st.table(pd.DataFrame(table).T)
    first = rows[0][1].card["scores"]
    st.caption(
        "Each model decodes codes drawn two ways: from N(0, I), the prior a VAE was trained "
        "towards (an AE never was), and from a latent diffusion model trained on its training "
        "codes (Ho et al. 2020; Rombach et al. 2022), which lands where the codes are. Both are "
        f"scored the same way: {analysis.N_SAMPLES:,} samples against the "
        f"{first['measured_against']}, {first['steps']} sampler steps, each score the mean ± "
        f"standard deviation over {first.get('seeds', 1)} sampling seeds. Rate and distortion "
        "do not change: the prior is learned afterwards, over the same codes.")
    mine = [(e, p) for e, p in rows if e.id == current.entry.id]
    if not mine:
        return
    e, p = mine[0]
    seed = 0
    model = common.get_model(str(e.path), e.card["content_hash"])
    left, right = st.columns(2)
    with left:
        what = ("its prior z ~ N(0, I)" if families.of(e).posterior
                else "z ~ N(0, I), which an AE is not trained for")
        common.show_grid(analysis.sample_prior(model, 16, seed=seed), ncols=4, size=48,
                         caption=f"{e.name}, {what}, seed {seed}")
    with right:
        prior = _prior(str(p.path), p.card.get("content_hash", ""))
        common.show_grid(families.sample_images(prior, model, 16, seed), ncols=4,
                         size=48, caption=f"{e.name} + diffusion prior (DDPM, 100 steps), "
                                          f"seed {seed}")
    st.page_link(pages.path("diffusion"), icon=":material/blur_on:",
                 label="Watch the prior carry noise into the codes: Latent diffusion")
