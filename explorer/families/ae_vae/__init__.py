"""The autoencoder (AE) and the variational autoencoder (VAE): the networks are
:mod:`explorer.families.models`'s; the step, test and evaluation are :mod:`.ops`."""

from explorer.families.base import Family

AE = Family(
    "ae", "AE", frozenset({"encode", "decode", "sample"}), "explorer.families.ae_vae.ops",
    about="a plain autoencoder: an encoder and a decoder trained to reconstruct",
    codes_from_data=True,  # no prior: samples decode a Gaussian fitted to its codes
)
VAE = Family(
    "vae", "VAE", frozenset({"encode", "decode", "sample"}), "explorer.families.ae_vae.ops",
    about="a variational autoencoder: a Gaussian code per image, pulled towards N(0, I)",
    posterior=True, kl_weight=True, head="mu_logvar",
)
FAMILIES = (AE, VAE)
