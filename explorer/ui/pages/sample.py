"""Sample page: new images decoded from the prior N(0, T² I), with a temperature and a seed.

Temperature, count and seed live in the URL, so a link shows the very same samples.
"""

import streamlit as st

from explorer import analysis, families
from explorer.ui.parts import common, conditional, export_buttons, page_start, theory

cur = page_start.start_page("Sample new images")

dim = cur.cfg.latent_dim
family = families.of(cur.cfg)
if family.sample_note:
    st.caption(family.sample_note)
elif cur.is_vae and dim <= 4:
    st.caption("A VAE is trained so that codes drawn from a standard normal decode to plausible "
               f"images. With this {dim}-D code, a lower temperature draws codes nearer the "
               "centre, where the clearest, most typical digits sit: cleaner, less varied "
               "samples.")
elif cur.is_vae:
    # In many dimensions the training codes sit on a shell of radius about √D, not near 0, so a
    # low temperature draws codes from a region the decoder never saw.
    st.caption("A VAE is trained so that codes drawn from a standard normal decode to plausible "
               f"images. This code has {dim} dimensions, and the training images' codes lie "
               f"about √{dim} ≈ {dim ** 0.5:.0f} from the centre: a low temperature (0.3) "
               "draws codes near the centre, which decode to grey, averaged blobs. Near T = 1 "
               "the samples look most like digits.")
else:
    st.warning("This is a plain autoencoder: nothing made its codes follow N(0, I), so many "
               "of these draws from N(0, I) fall in regions it never learned and decode to blur. "
               "Compare generators samples the shipped 16-D autoencoder from a Gaussian fitted to "
               "its codes instead, and there it has the lowest Fréchet distance of the table: "
               "the trouble is where N(0, I) puts the draws, not the decoder.")
theory.explain(
    "Each image is decoded from a code nobody encoded: a draw z ~ N(0, T² I) from the prior. "
    "This only works where the decoder has learned something, which is what a VAE's KL term "
    "buys: it pulls the codes of the training images towards N(0, I), so the prior's draws land "
    "where the decoder has been. The temperature T shrinks (T < 1) or widens (T > 1) the draws.",
    cfg=cur.cfg,
)

presenting = common.presenting()  # the seed is not drawn when presenting; "New samples" stays
if "sample_seed" not in st.session_state:
    st.session_state["sample_seed"] = (
        common.hidden_setting("sample_seed", 0, lo=0, hi=1_000_000) if presenting else 0)


def new_samples():
    st.session_state["sample_seed"] += 1


c1, c2, c3 = st.columns([2, 2, 1.3])
temperature = c1.slider("Temperature", 0.1, 2.0, 1.0, 0.1, key="temperature",
                        help="Scales the prior's spread: z ~ N(0, T² I).", bind="query-params")
n = c2.select_slider("How many", options=[16, 36, 64, 100], value=36, key="n_samples",
                     bind="query-params")
if not presenting:
    c3.number_input("Seed", 0, 1_000_000, key="sample_seed", bind="query-params")
c3.button("New samples", on_click=new_samples, type="primary", icon=":material/casino:")

if analysis.can(cur.model, "condition"):
    images = analysis.sample(cur.model, n, seed=int(st.session_state["sample_seed"]),
                         temperature=temperature, labels=conditional.which_class(cur))[0]
    images = images[:, 0].numpy() if images.shape[1] == 1 else images.numpy()
else:
    images = analysis.sample_prior(cur.model, n, temperature=temperature,
                               seed=int(st.session_state["sample_seed"]))
export_buttons.grid(images, ncols=int(n**0.5), size=common.IMAGE_PX, key="samples",
                    caption=f"{n} samples · T = {temperature:g} · seed "
                            f"{st.session_state['sample_seed']}", name=cur.entry.name,
                    settings=[f"{n} samples", f"T = {temperature:g}",
                              f"seed {st.session_state['sample_seed']}"])
