"""Latent arithmetic: the classifier's check of it, the claims the Arithmetic tab makes about the
shipped models, and the tab itself (pictures, the classifier's sentence, a link that restores it).
The arithmetic's own maths (class means, analogy codes) is tested in test_latent.py."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer.analysis import latent, neighbours, scores
from explorer.data import datasets
from explorer.runs.checkpoints import load_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mnist():
    return datasets.load_dataset("mnist-5k")


def shipped_check(name: str, data) -> tuple[scores.AnalogyCheck, float]:
    """What the tab computes for a shipped model: the classifier's check and the landing ratio."""
    model, _ = load_model(ROOT / "pretrained" / name)
    codes, labels = latent.encode_dataset(model, data.x_test), data.y_test.numpy()
    means = latent.class_means(codes, labels, 10)
    clf, _ = scores.load_classifier(data.name)
    check = scores.check_analogies(model, clf, codes, labels, means, np.arange(len(labels)))
    sums = latent.analogy_codes(codes, means, labels)[check.asked]
    return check, neighbours.landing_ratio(codes, sums)


def test_the_analogy_to_its_own_class_is_read_like_the_reconstruction(mnist):
    model, _ = load_model(ROOT / "pretrained" / "mnist-vae-mlp-z2")
    clf, _ = scores.load_classifier("mnist-5k")
    labels = mnist.y_test.numpy()
    codes = latent.encode_dataset(model, mnist.x_test)
    means = latent.class_means(codes, labels, 10)
    chosen = datasets.mixed_indices(labels, 30)
    check = scores.check_analogies(model, clf, codes, labels, means, chosen)
    assert check.read.shape == (30, 10) and check.n_asked == 30 * 9
    rebuilt = scores.predict(clf, torch.from_numpy(latent.decode(model, codes[chosen])[:, None]))
    assert check.read[np.arange(30), labels[chosen]].tolist() == rebuilt.tolist()
    assert check.own == int((rebuilt == labels[chosen]).sum())
    asked = np.arange(10)[None] != labels[chosen][:, None]
    assert check.hits == int(((check.read == np.arange(10)) & asked).sum())


def test_a_class_without_a_mean_is_neither_asked_nor_counted(mnist):
    model, _ = load_model(ROOT / "pretrained" / "mnist-ae-mlp-z2")
    clf, _ = scores.load_classifier("mnist-5k")
    labels = mnist.y_test.numpy()
    codes = latent.encode_dataset(model, mnist.x_test)
    means = latent.class_means(codes[labels != 4], labels[labels != 4], 10)  # no 4 in this set
    check = scores.check_analogies(model, clf, codes, labels, means, [0, 1, 2])
    assert (check.read[:, 4] == -1).all() and check.n_asked == 3 * 8


@pytest.mark.slow
def test_what_the_tab_says_about_the_shipped_mnist_models_holds(mnist):
    """The tab's sentence: the VAE's sums land nearer the data than the AE's of the same size, yet
    are read as the digit asked for only a few points more often; 16-D models get about three in
    four right, 2-D ones fewer than half."""
    share, ratio = {}, {}
    for name in ("mnist-ae-mlp-z2", "mnist-vae-mlp-z2", "mnist-ae-mlp-z16", "mnist-vae-mlp-z16"):
        check, ratio[name] = shipped_check(name, mnist)
        share[name] = check.hits / check.n_asked
    for size in ("z2", "z16"):
        ae, vae = f"mnist-ae-mlp-{size}", f"mnist-vae-mlp-{size}"
        assert ratio[vae] < ratio[ae], (size, ratio)
        assert 0 < share[vae] - share[ae] < 0.08, (size, share)
    assert all(0.65 < share[f"mnist-{kind}-mlp-z16"] < 0.85 for kind in ("ae", "vae")), share
    assert all(share[f"mnist-{kind}-mlp-z2"] < 0.5 for kind in ("ae", "vae")), share


# -- the tab ----------------------------------------------------------------------------------
def open_arithmetic(model: str, **query) -> AppTest:
    """The Interpolate page as a link opens it: ?model=...&interp_tab=Arithmetic&..."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update({"model": model, "interp_tab": "Arithmetic", **query})
    at.run()
    at.switch_page("explorer/ui/pages/interpolate.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def captions_starting(at: AppTest, prefix: str) -> list[str]:
    return [c for image in at.image for c in image.captions if c.startswith(prefix)]


@pytest.mark.parametrize("model", ["pretrained/mnist-vae-mlp-z16", "pretrained/mnist-ae-mlp-z16",
                                   "pretrained/mnist-betavae-mlp-z16"])
def test_the_arithmetic_tab_shows_class_means_analogies_and_what_the_classifier_reads(model, runs):
    at = open_arithmetic(model, arith_a="5")
    # The link restored the view: the tab, and image A.
    assert at.session_state["interp_tab"] == "Arithmetic"
    assert at.number_input(key="arith_a").value == 5
    assert at.query_params["arith_a"] == "5"
    label = int(datasets.load_dataset("mnist-5k").y_test[5])
    assert captions_starting(at, f"#5 · {label}")
    # One decoded mean per digit, and A rebuilt beside its analogy to every other digit.
    assert [c.split(" · ")[0] for c in captions_starting(at, "mean ")] == [
        f"mean {d}" for d in range(10)]
    analogies = captions_starting(at, "as ")
    assert len(captions_starting(at, "A, rebuilt")) == 1
    assert [c.split(" · ")[0] for c in analogies] == [f"as {d}" for d in range(10) if d != label]
    # The sentence counts what the captions show.
    right = sum(re.fullmatch(r"as (\d) · reads \1", c) is not None for c in analogies)
    text = [m.value for m in at.markdown]
    assert f"**{right} of 9** are read as the digit asked for (by the shipped classifier)." in text
    overall = next(t for t in text if t.startswith("**Over 1,000 test images**"))
    assert re.search(r"of 9,000 analogies \(\d+%\) are read as the digit asked for", overall)
    assert any(c.value.startswith("The sums land a median ") for c in at.caption)


def test_a_conditional_model_says_its_label_changes_the_class(runs):
    at = open_arithmetic("pretrained/mnist-cvae-mlp-z4")
    assert any("its label, not arithmetic with codes, changes the digit" in i.value
               for i in at.info)
    assert at.subheader[0].value == "Same style, another digit"


def test_a_model_without_an_encoder_gets_the_capability_sentence(runs):
    at = open_arithmetic("pretrained/mnist-gan-conv-z32")
    assert any("needs a model that can turn an image into a code" in i.value for i in at.info)
    assert not at.image
