"""A throwaway model family, all in this folder: a linear autoencoder (one linear layer each way,
a sigmoid on the pixels). Registering it is all the app needs to train, save, load, evaluate,
show and sample it (tests/families/test_families.py)."""

from dataclasses import dataclass

from explorer.families.base import Family


@dataclass(frozen=True)
class LinearFamily(Family):
    def parameter_count(self, cfg) -> int:
        n, d = cfg.n_pixels, cfg.latent_dim
        return (n * d + d) + (d * n + n)  # encoder and decoder, weights and biases


FAMILY = LinearFamily(
    "linear", "Linear AE", frozenset({"encode", "decode", "sample"}), "tests.families.linear.ops",
    about="a linear autoencoder: PCA's subspace, learned by gradient descent",
    codes_from_data=True,
)
