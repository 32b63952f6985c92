"""Latent diffusion page: a learned prior over the sidebar model's codes. On a 2-D code, the
reverse process as a movie on the map, one moment t with the denoising direction as arrows, and
a clicked sample followed from noise to code; for any code size, one trajectory decoded step by
step and the prior's samples beside the base model's own.

Sampler, steps, seed, t and the followed sample are in the URL, so a link shows the same thing.
"""

import numpy as np
import streamlit as st

from explorer import analysis, families
from explorer.figures.diffusion import moment_figure, movie_figure
from explorer.ui.parts import common, export_buttons, page_start, theory
from explorer.ui.parts.diffusion_train import train_section

cur = page_start.start_page("Latent diffusion", needs="encode", what="Latent diffusion")
theory.explain(
    "A diffusion model (Ho et al. 2020) learns to undo noise: codes z_0 of the training images "
    "are noised, z_t = √ᾱ_t z_0 + √(1 − ᾱ_t) ε with a cosine schedule ᾱ_t (Nichol & Dhariwal "
    "2021), and a small network learns to predict the noise ε from z_t and t. Run backwards from "
    "pure noise z_T ~ N(0, I), it carries each point step by step to where the codes are; the "
    "autoencoder's decoder then draws them. Stable Diffusion does this in an autoencoder's latent "
    "space too (Rombach et al. 2022). DDPM adds fresh noise at every step; DDIM (Song et al. "
    "2021) takes the same path every time for the same starting noise.")


@st.cache_resource(max_entries=8, show_spinner=False)
def get_prior(path: str, content_hash: str):
    return families.load_prior(path)[0]


@st.cache_data(max_entries=16, show_spinner="Running the reverse process…")
def reverse(path: str, content_hash: str, n: int, sampler: str, steps: int, seed: int):
    return families.reverse_process(get_prior(path, content_hash), n, sampler, steps, seed)


def choice(label: str, key: str, options: list, default, where=st, **kwargs):
    """A select slider bound to the URL, whose options may change (the steps change the t's):
    a value no longer offered falls back to `default`. Presenter mode draws it all the same."""
    if st.session_state.get(key, default) not in options:
        st.session_state[key] = default
    if key in st.session_state:
        return where.select_slider(label, options, key=key, bind="query-params", **kwargs)
    return where.select_slider(label, options, value=default, key=key, bind="query-params",
                               **kwargs)


priors = families.priors_of(cur.hash)
if not priors:
    others = sorted({p.base.get("label", "?") for p in families.list_priors()})
    st.info(f"No diffusion prior has been trained over {cur.entry.id} yet. Train one below, "
            f"or with `python -m explorer train --model latent-diffusion --base {cur.entry.id}`"
            + (f"; or pick a model that has one: {', '.join(others)}." if others else "."))
    train_section(cur, expanded=True)
    st.stop()
names = [p.id for p in priors]
chosen = common.setting("selectbox", "Diffusion prior", "ld_prior", names[0], options=names)
prior_entry = priors[names.index(chosen)] if chosen in names else priors[0]
card = prior_entry.card
prior = get_prior(str(prior_entry.path), card["content_hash"])
dim = cur.cfg.latent_dim
st.caption(f"{prior_entry.id}: trained over {card['base']['label']} (weights "
           f"{card['base']['content_hash']}) on the {card['dataset']['n_train']} training "
           f"images' codes ({card['config']['codes']}s), T = {card['config']['timesteps']}, "
           f"{card['train']['epochs_done']} epochs, seed {card['seed']}.")

c1, c2, c3 = st.columns([1.4, 2, 1])
sampler = common.setting("radio", "Sampler", "ld_sampler", "ddpm", options=["ddpm", "ddim"],
                         where=c1, horizontal=True, format_func=str.upper,
                         help="DDPM: fresh noise at each step; DDIM: deterministic.")
steps = choice("Steps", "ld_steps", [10, 20, 50, 100, 200], 50, where=c2)
seed = int(common.setting("number_input", "Seed", "ld_seed", 0, lo=0, hi=1_000_000, step=1,
                          where=c3))
n = families.MOVIE_POINTS if dim == 2 else 64
rev = reverse(str(prior_entry.path), card["content_hash"], n, sampler, int(steps), seed)
FOLLOW = "ld_follow"
try:
    follow = min(max(int(st.query_params.get(FOLLOW, 0)), 0), n - 1)
except ValueError:
    follow = 0

if dim == 2:
    codes = common.codes_or_stop(str(cur.entry.path), cur.hash, cur.entry.dataset)
    labels = common.test_labels(cur.entry.dataset)
    class_names = cur.data.info.class_names
    st.subheader("Noise flowing into the codes")
    keep = families.movie_frames(rev)
    export_buttons.chart(common.chart_style(movie_figure(
        rev.path[keep], rev.ts[keep], codes, labels, class_names,
        height=common.px(520))), key="ld_movie", movie=True, name=cur.entry.name,
        settings=["noise into codes", f"{sampler.upper()} sampler", f"seed {seed}"])
    st.caption(f"{n} samples start as noise z_T ~ N(0, I) (in the codes' standardised "
               f"units) and follow the {sampler.upper()} sampler's {len(rev.ts) - 1} steps "
               f"(seed {seed}; {len(keep)} of the {len(rev.ts)} moments shown). Beneath, faint: "
               f"the codes of the {len(codes)} test images, by class. Press Play or drag t.")

    st.subheader("One moment: the denoising direction")
    t_options = [int(t) for t in rev.ts]
    t = choice("t (timestep)", "ld_t", t_options, t_options[len(t_options) // 2],
               help="T is pure noise, 0 the codes.")
    row = t_options.index(t) if t in t_options else 0
    lo, hi = np.percentile(codes, 1, axis=0), np.percentile(codes, 99, axis=0)
    grid, arrows = families.arrow_grid(prior, t, lo, hi)
    fig = moment_figure(rev.path[row], t, grid, arrows, codes, labels, class_names,
                        followed=rev.path[: row + 1, follow], height=common.px(520))
    event = export_buttons.chart(common.chart_style(fig), key="ld_moment", on_select="rerun",
                                 name=cur.entry.name, selection_mode="points",
                                 settings=["denoising direction", f"t = {t}",
                                           f"{sampler.upper()} sampler", f"seed {seed}"])
    picked = analysis.selected_indices((event or {}).get("selection"))
    if picked and picked[-1] != follow:
        follow = picked[-1]
        st.query_params[FOLLOW] = str(follow)
        st.rerun()
    st.caption(f"The samples at t = {t}; arrows: −ε̂_θ(z, t), the direction the network removes "
               "noise in (along the score ∇ log p_t), each scaled so the longest spans one grid "
               f"cell. Red: sample #{follow}'s path from t = {t_options[0]} to here — click any "
               "sample to follow it instead.")

st.subheader(f"Sample #{follow}, step by step: noise → image")
rows = families.strip_steps(len(rev.ts))
strip = analysis.decode(cur.model, rev.path[rows, follow])
common.show_images(list(strip), [f"t = {int(rev.ts[r])}" for r in rows], size=72)
export_buttons.images(strip, len(strip), key="ld_strip", size=72, movie=True, name=cur.entry.name,
                      settings=[f"sample #{follow} from noise to code",
                                f"{sampler.upper()} sampler", f"seed {seed}"])
st.caption("Each image decodes the sample's code at that step. Early codes are mostly noise, "
           "so their images are whatever the decoder makes of a random code.")

st.subheader("The diffusion prior beside the base model's own")
left, right = st.columns(2)
with left:
    export_buttons.grid(analysis.decode(cur.model, rev.codes[:36]), ncols=6, key="ld_prior_grid",
                        size=common.IMAGE_PX, name=cur.entry.name,
                        caption=f"diffusion prior, {sampler.upper()} {len(rev.ts) - 1} steps, "
                                f"seed {seed}",
                        settings=["diffusion prior", f"{sampler.upper()} {len(rev.ts) - 1} steps",
                                  f"seed {seed}"])
with right:
    if families.of(cur.cfg).posterior:  # a prior N(0, I) it was trained towards
        own = analysis.sample_prior(cur.model, 36, seed=seed)
        what = "its prior z ~ N(0, I)"
    else:
        images, _ = analysis.sample(cur.model, 36, seed=seed, data=cur.data)
        own, what = images[:, 0].numpy(), "a Gaussian fitted to its training codes"
    export_buttons.grid(own, ncols=6, size=common.IMAGE_PX, key="ld_own_grid",
                        caption=f"{cur.entry.id}, {what}, seed {seed}", name=cur.entry.name,
                        settings=[what, f"seed {seed}"])

scores = card.get("scores")
if scores:
    st.subheader("Scores")
    names_of = {"diffusion-ddpm": "diffusion prior, DDPM", "diffusion-ddim": "diffusion prior, DDIM",
                "prior": "base, z ~ N(0, I)", "fitted": "base, Gaussian fitted to its codes",
                "reconstructions": "base, reconstructions of the test images (the ceiling)"}
    st.dataframe(  # each score "mean ± sd" over the sampling seeds, as on Compare generators
        [{"codes from": names_of.get(k, k),
          **{name: analysis.with_spread(v, key) for key, name in
             (("fid", "FD"), ("precision", "precision"), ("recall", "recall"))},
          "images": v["n"]} for k, v in scores["rows"].items()],
        hide_index=True)
    st.caption(f"Every row decodes codes with {card['base']['label']}'s decoder and is scored "
               f"against the {scores['measured_against']} in the shipped classifier's features "
               f"(FD: Fréchet distance, the FID recipe of Heusel et al. 2017; precision and "
               f"recall: Kynkäänniemi et al. 2019). Samplers ran {scores['steps']} steps; each "
               + (f"score is the mean ± standard deviation over {scores['seeds']} sampling seeds "
                  f"({scores['seed']} to {scores['seed'] + scores['seeds'] - 1}). "
                  if scores.get("seeds", 1) > 1 else
                  f"score is of seed {scores['seed']} alone, so differences of a few FD units "
                  "may be noise. ")
               + f"The DDPM prior closes {scores['gap_closed']:.0%} of the mean FD gap between "
               "N(0, I) samples and reconstructions.")

train_section(cur, expanded=False)
