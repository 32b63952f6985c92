"""Sample page: new images decoded from the prior N(0, T² I), with a temperature and a seed."""

import streamlit as st

from explorer import latent
from explorer.ui import common

st.title("Sample new images")
cur = common.current()
if cur is None:
    st.stop()

if cur.is_vae:
    st.caption("A VAE is trained so that codes drawn from a standard normal decode to plausible "
               "images. Lower the temperature for cleaner, less varied samples.")
else:
    st.warning("This is a plain autoencoder: nothing made its codes follow N(0, I), so many "
               "samples fall in regions it never learned and decode to blur. Compare with a VAE.")

if "sample_seed" not in st.session_state:
    st.session_state["sample_seed"] = 0


def new_samples():
    st.session_state["sample_seed"] += 1


c1, c2, c3 = st.columns([2, 2, 1])
temperature = c1.slider("Temperature", 0.1, 2.0, 1.0, 0.1, key="temperature",
                        help="Scales the prior's spread: z ~ N(0, T² I).")
n = c2.select_slider("How many", options=[16, 36, 64, 100], value=36, key="n_samples")
c3.number_input("Seed", 0, 1_000_000, key="sample_seed")
c3.button("New samples", on_click=new_samples, type="primary", icon=":material/casino:")

images = latent.sample_prior(cur.model, n, temperature=temperature,
                             seed=int(st.session_state["sample_seed"]))
common.show_grid(images, ncols=int(n**0.5), size=56,
                 caption=f"{n} samples · T = {temperature:g} · seed {st.session_state['sample_seed']}")
