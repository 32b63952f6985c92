"""Page tests with Streamlit's AppTest: every page renders on shipped models, its main widgets are
there, sliders and buttons change the images they drive, and bad choices get a sentence.

Image elements are compared by their media URLs: Streamlit names each media file by a hash of its
bytes, so a different URL means different image bytes.
"""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["explorer/ui/latent_map.py", "explorer/ui/compare.py", "explorer/ui/interpolate.py",
         "explorer/ui/sample.py", "explorer/ui/train.py"]


def open_page(page: str, model: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if model:
        at.session_state["model"] = model
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def image_with_caption(at: AppTest, prefix: str) -> str:
    for image in at.image:
        for url, caption in zip(image.value, image.captions, strict=True):
            if caption.startswith(prefix):
                return url
    raise AssertionError(f"no image captioned {prefix!r}: {[i.captions for i in at.image]}")


def all_images(at: AppTest) -> list[str]:
    return [url for image in at.image for url in image.value]


@pytest.mark.parametrize("model", ["pretrained/mnist-vae-mlp-z2", "pretrained/mnist-ae-mlp-z16",
                                   "pretrained/digits-vae-mlp-z2"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_error(page, model, runs):
    at = open_page(page, model)
    assert not at.error, [e.value for e in at.error]
    assert at.title, "the page has a title"
    if page != "explorer/ui/train.py":
        assert at.selectbox(key="model").value == model
    if page in ("explorer/ui/compare.py", "explorer/ui/interpolate.py", "explorer/ui/sample.py"):
        assert all_images(at), "the page shows images"


def test_the_default_model_is_the_2d_mnist_vae(runs):
    at = open_page("explorer/ui/latent_map.py")
    assert at.selectbox(key="model").value == "pretrained/mnist-vae-mlp-z2"
    assert any("2-D" in c.value for c in at.caption)


def test_interpolation_slider_changes_the_decoded_image(runs):
    at = open_page("explorer/ui/interpolate.py")
    at.slider(key="interp_t").set_value(0.0).run()
    start = image_with_caption(at, "decoded at t")
    at.slider(key="interp_t").set_value(1.0).run()
    end = image_with_caption(at, "decoded at t")
    assert start != end
    at.slider(key="interp_t").set_value(0.0).run()
    assert image_with_caption(at, "decoded at t") == start  # same code, same picture


def test_traversal_slider_changes_the_image(runs):
    at = open_page("explorer/ui/interpolate.py", "pretrained/mnist-vae-mlp-z16")
    slider = at.slider(key="trav_value")
    before = image_with_caption(at, "z[")
    slider.set_value(slider.min).run()
    assert image_with_caption(at, "z[") != before


def test_new_samples_button_changes_the_grid(runs):
    at = open_page("explorer/ui/sample.py")
    before = all_images(at)
    at.button[0].click().run()
    assert all_images(at) != before
    assert at.number_input(key="sample_seed").value == 1


def test_grid_with_the_same_dimension_twice_says_so(runs):
    at = open_page("explorer/ui/interpolate.py", "pretrained/mnist-vae-mlp-z16")
    first = at.selectbox(key="grid_i").value
    at.selectbox(key="grid_j").set_value(first).run()
    assert not at.exception
    assert any("two different dimensions" in i.value for i in at.info)


def test_compare_lists_models_and_the_pca_baseline(runs):
    at = open_page("explorer/ui/compare.py")
    table = at.dataframe[0].value
    assert "mnist-vae-mlp-z2" in table.index and "PCA (2)" in table.index
    assert (table["MSE"] > 0).all()


def test_compare_bad_indices_get_a_sentence(runs):
    at = open_page("explorer/ui/compare.py")
    at.segmented_control(key="compare_how").set_value("by index").run()
    at.text_input(key="compare_idx").input("3, banana, 99999").run()
    assert not at.exception
    assert any("whole numbers" in e.value for e in at.error)


def test_map_of_a_projected_model_uses_the_shipped_projection(runs):
    at = open_page("explorer/ui/latent_map.py", "pretrained/mnist-vae-mlp-z16")
    assert at.segmented_control(key="map_method").value == "umap"
    assert not at.info, "a shipped UMAP map appears at once, with no waiting message"


def test_rate_distortion_page_places_every_model_of_the_dataset(runs):
    at = open_page("explorer/ui/rate_distortion.py", "pretrained/mnist-vae-mlp-z2")
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert "pretrained/mnist-vae-mlp-z2" not in set(table["model"])  # names, not ids
    assert {"mnist-vae-mlp-z2", "mnist-ae-mlp-z2", "mnist-vae-z8-beta1"} <= set(table["model"])
    vaes = table[table["rate"].notna()]
    assert (vaes["rate"] + vaes["distortion"] - vaes["−ELBO"]).abs().max() < 0.02
    assert table[table["model"] == "mnist-ae-mlp-z2"]["rate"].isna().all()  # AE: at the edge
    assert any("floor" in c.value and "Σ H(x)" in c.value for c in at.caption)
    at.segmented_control(key="rd_likelihood").set_value("binarized").run()
    assert list(at.dataframe[0].value["model"]) == ["mnist-vae-binarized-z16"]
