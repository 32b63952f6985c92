"""Pages with a GAN or a CVAE picked: a sentence where the page needs an encoder, never an
exception; the CVAE's Sample asks which digit; Compare generators renders its table."""

import pytest
import torch

from explorer.checkpoints import save_model
from explorer.models import ModelConfig, build_model
from tests.test_pages import open_page

ENCODER_PAGES = ["explorer/ui/latent_map.py", "explorer/ui/compare.py",
                 "explorer/ui/interpolate.py", "explorer/ui/draw.py", "explorer/ui/inside.py"]


def _save(runs, name, cfg):
    model = build_model(cfg, torch.Generator().manual_seed(0)).eval()
    save_model(model, runs / name, {"name": name, "dataset": {"name": "digits"}})
    return f"runs/{name}"


@pytest.mark.parametrize("page", ENCODER_PAGES)
def test_pages_needing_an_encoder_say_so_for_a_gan(page, runs):
    model = _save(runs, "gan", ModelConfig("gan", "mlp", (1, 8, 8), latent_dim=4, hidden=(16,)))
    at = open_page(page, model)
    assert not at.error
    assert any("needs a model that can turn an image into a code" in i.value for i in at.info)


def test_cvae_sample_asks_which_digit_and_interpolate_keeps_the_style(runs):
    model = _save(runs, "cvae", ModelConfig("cvae", "mlp", (1, 8, 8), latent_dim=4,
                                            hidden=(16,), n_classes=10))
    at = open_page("explorer/ui/sample.py", model)
    assert at.selectbox(key="sample_class").label == "Which digit?"
    before = [u for im in at.image for u in im.value]
    at.selectbox(key="sample_class").set_value(7).run()
    assert not at.exception and [u for im in at.image for u in im.value] != before
    at = open_page("explorer/ui/interpolate.py", model)
    assert any("Same style, another digit" in h.value for h in at.subheader)


def test_compare_generators_page_renders_scores(runs):
    at = open_page("explorer/ui/generators.py")
    assert not at.error, [e.value for e in at.error]
    assert at.dataframe and "fid" in at.dataframe[0].value.columns
