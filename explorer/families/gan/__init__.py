"""The GAN (Goodfellow et al., 2014; DCGAN, Radford et al., 2016): the networks are
:mod:`explorer.families.gan.model`'s; the two players' step and the collapse check are :mod:`.ops`."""

from explorer.families.base import Family

FAMILY = Family(
    "gan", "GAN", frozenset({"decode", "sample"}), "explorer.families.gan.ops",
    about="a generative adversarial network: a generator and a discriminator trained against "
          "each other",
    generator_scores=True, batch_norm=True, head="logit", reconstructs=False, ranked_in_words=True,
    sample_note="A GAN's generator was trained, against a discriminator, to turn noise "
                "z ~ N(0, I) into images the discriminator takes for real ones.",
)
