"""The conditional VAE (Sohn et al., 2015): the network is :mod:`explorer.families.cvae.model`'s; it trains
like the VAE on (image, label) pairs and is judged as a generator as well."""

from explorer.families.base import Family

# No "encode" of an image alone: pages that encode unlabelled images (the map, Draw) need a VAE.
FAMILY = Family(
    "cvae", "CVAE", frozenset({"decode", "sample", "condition"}), "explorer.families.cvae.ops",
    about="a conditional VAE: the label joins encoder and decoder, the code keeps the style",
    kl_weight=True, generator_scores=True, head="mu_logvar",
    sample_note="A conditional VAE draws the class you ask for; z ~ N(0, T² I) holds the style.",
)
