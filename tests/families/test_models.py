"""Every model kind x body x image size: shapes, the loss contract, and learning on a small batch."""

import itertools

import pytest
import torch

from explorer.errors import ConfigError
from explorer.families.models import ARCHS, KINDS, ModelConfig, build_model, parse_hidden
from tests.hostile import TINY

SHAPES = [(1, 8, 8), (1, 28, 28), (1, 10, 10), (3, 16, 12)]


@pytest.mark.parametrize("kind,arch,shape", list(itertools.product(KINDS, ARCHS, SHAPES)))
def test_shapes_and_loss_contract(kind, arch, shape):
    hidden = (8, 16) if arch == "conv" else (32, 16)
    cfg = ModelConfig(kind=kind, arch=arch, image_shape=shape, latent_dim=3, hidden=hidden)
    model = build_model(cfg)
    x = torch.rand(5, *shape)
    out = model(x)
    assert out["x_hat"].shape == x.shape
    assert out["z"].shape == (5, 3)
    assert 0 <= out["x_hat"].min() and out["x_hat"].max() <= 1
    parts = model.loss(x)
    assert parts["loss"].ndim == 0 and torch.isfinite(parts["loss"])
    assert ("kl" in parts) == (kind == "vae")
    assert model.decode(torch.zeros(2, 3)).shape == (2, *shape)


@pytest.mark.parametrize("kind,arch", list(itertools.product(KINDS, ARCHS)))
def test_loss_falls_on_a_small_batch(kind, arch):
    torch.manual_seed(0)
    cfg = ModelConfig(kind=kind, arch=arch, image_shape=(1, 8, 8), latent_dim=4,
                      hidden=(16, 32) if arch == "conv" else (64,))
    model = build_model(cfg)
    x = (torch.rand(32, 1, 8, 8) > 0.5).float()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = float(model.loss(x)["loss"].detach())
    for _ in range(300):
        loss = model.loss(x)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(model.loss(x)["loss"].detach()) < 0.8 * first


def test_loss_parts_add_up_with_beta_and_sparsity():
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=4, hidden=(16,),
                                    beta=4.0, sparsity=0.5))
    parts = model.loss(torch.rand(6, 1, 8, 8))
    expected = parts["recon"] + 4.0 * parts["kl"] + 0.5 * parts["sparsity"]
    assert torch.allclose(parts["loss"], expected)


def test_gaussian_likelihood_is_squared_error():
    model = build_model(ModelConfig(kind="ae", image_shape=(1, 8, 8), latent_dim=2, hidden=(8,),
                                    likelihood="gaussian")).eval()
    x = torch.rand(4, 1, 8, 8)
    x_hat = model(x)["x_hat"]
    assert torch.allclose(model.loss(x)["recon"], ((x_hat - x) ** 2).flatten(1).sum(1).mean())


def test_denoising_corrupts_only_in_training():
    model = build_model(ModelConfig(kind="ae", image_shape=(1, 8, 8), latent_dim=2, hidden=(8,),
                                    denoise=0.5))
    x = torch.rand(4, 1, 8, 8)
    model.eval()
    assert torch.equal(model.loss(x)["loss"], model.loss(x)["loss"])
    model.train()
    assert not torch.equal(model.loss(x)["loss"], model.loss(x)["loss"])


@pytest.mark.parametrize("bad", [dict(latent_dim=0), dict(latent_dim=257), dict(kind="flow"), dict(kind="cvae"),
                                 dict(arch="rnn"), dict(hidden=()), dict(beta=-1.0),
                                 dict(likelihood="poisson"), dict(denoise=2.0)])
def test_bad_configs_say_what_is_wrong(bad):
    with pytest.raises(ConfigError) as e:
        ModelConfig(**bad)
    assert str(e.value).endswith(".")


def test_config_round_trips_through_json_dict():
    cfg = ModelConfig(kind="ae", arch="conv", hidden=(32, 64), latent_dim=7, beta=2.0)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError):
        ModelConfig.from_dict({**cfg.to_dict(), "layers": 3})


@pytest.mark.parametrize("text, arch, expected", [
    ("512, 256", "mlp", (512, 256)), ("512 256", "mlp", (512, 256)), ("64,", "conv", (64,)),
    ("", "mlp", (400,)), ("  ", "conv", (32, 64)),
])
def test_hidden_sizes_are_read_as_typed(text, arch, expected):
    assert parse_hidden(text, arch) == expected
    ModelConfig(arch=arch, hidden=parse_hidden(text, arch))  # an empty box gives a valid body


def test_hidden_sizes_that_are_not_numbers_get_a_sentence():
    with pytest.raises(ConfigError, match="whole numbers separated by commas.*'abc'"):
        parse_hidden("abc", "mlp")
    with pytest.raises(ConfigError, match="whole numbers"):
        parse_hidden("2.5", "mlp")


def test_model_config_turns_every_bad_value_into_a_config_error():
    base = TINY.to_dict()
    for field, value in [("image_shape", [1, 8, "x"]), ("hidden", ["x"]), ("latent_dim", 2.5)]:
        with pytest.raises(ConfigError):
            ModelConfig.from_dict({**base, field: value})


def test_the_size_known_from_a_card_is_the_built_models_size():
    """check_size counts parameters from the config alone (the model list needs no torch): the
    count must be the built model's, for every family, body and image shape."""
    from explorer.families.config import parameter_count

    for kind in ("ae", "vae", "cvae", "gan"):
        for arch, hidden in (("mlp", (400,)), ("mlp", (512, 256, 64)), ("conv", (32, 64)),
                             ("conv", (16, 32, 64)), ("conv", (8,))):
            for shape in ((1, 28, 28), (3, 10, 12), (1, 8, 8)):
                cfg = ModelConfig(kind, arch, shape, latent_dim=5, hidden=hidden,
                                  n_classes=7 if kind == "cvae" else 0)
                with torch.device("meta"):
                    built = sum(p.numel() for p in build_model(cfg).parameters())
                assert parameter_count(cfg) == built, cfg
