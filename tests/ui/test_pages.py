"""Page tests with Streamlit's AppTest: every page renders on shipped models, its main widgets are
there, sliders and buttons change the images they drive, and bad choices get a sentence.

Image elements are compared by their media URLs: Streamlit names each media file by a hash of its
bytes, so a different URL means different image bytes.
"""

import json
from pathlib import Path

import pytest
import torch
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from explorer.analysis import rdplane
from explorer.analysis.rdplane import RDPoint
from explorer.families import models
from explorer.families.models import ModelConfig
from explorer.figures import compare as figures_compare
from explorer.runs import checkpoints
from explorer.ui.pages import PAGES as TABLE
from tests.apptest_helpers import open_page
from tests.hostile import (
    _card,
    _model_folder,
    _nan_weights,
    _saved,
    _set_config,
    evil_pickle,
    evil_torch_save,
)

ROOT = Path(__file__).resolve().parents[2]
# Pages by their key in the app's one page table (explorer/ui/pages/__init__.py).
PAGES = [TABLE[key].path for key in ("map", "compare", "interpolate", "sample", "train",
                                      "diffusion")]


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
@pytest.mark.parametrize("page_path", PAGES)
def test_every_page_renders_without_error(page_path, model, runs):
    at = open_page(page_path, model)
    assert not at.error, [e.value for e in at.error]
    assert at.title, "the page has a title"
    if page_path != "explorer/ui/pages/train.py":
        assert at.selectbox(key="model").value == model
    if page_path in ("explorer/ui/pages/compare.py", "explorer/ui/pages/interpolate.py", "explorer/ui/pages/sample.py"):
        assert all_images(at), "the page shows images"


def test_the_default_model_is_the_2d_mnist_vae(runs):
    at = open_page("explorer/ui/pages/latent_map.py")
    assert at.selectbox(key="model").value == "pretrained/mnist-vae-mlp-z2"
    assert any("2-D" in c.value for c in at.caption)


def test_interpolation_slider_changes_the_decoded_image(runs):
    at = open_page("explorer/ui/pages/interpolate.py")
    at.slider(key="interp_t").set_value(0.0).run()
    start = image_with_caption(at, "decoded at t")
    at.slider(key="interp_t").set_value(1.0).run()
    end = image_with_caption(at, "decoded at t")
    assert start != end
    at.slider(key="interp_t").set_value(0.0).run()
    assert image_with_caption(at, "decoded at t") == start  # same code, same picture


def test_choosing_random_draws_a_random_image_at_once(runs):
    """Choosing "random" kept image #0 until "Another" was pressed. The draw is seeded: a new
    session choosing random gets the same image; the index drawn is in the URL."""
    drawn = []
    for _ in range(2):
        at = open_page("explorer/ui/pages/interpolate.py")
        before = at.number_input(key="interp_a").value
        at.segmented_control(key="interp_a_how").set_value("random").run()
        assert not at.exception, [e.message for e in at.exception]
        index = at.number_input(key="interp_a").value
        assert index != before
        assert image_with_caption(at, f"#{index} · ")
        assert at.query_params["interp_a"] == str(index)
        drawn.append(index)
    assert drawn[0] == drawn[1]
    at.button(key="interp_a_roll").click().run()
    assert at.number_input(key="interp_a").value not in (drawn[0], before)  # "Another": another


@pytest.mark.parametrize("model", ["pretrained/mnist-vae-mlp-z16", "pretrained/mnist-ae-mlp-z16"])
def test_the_dimension_list_says_what_each_dimension_carries(runs, model):
    """It said dimensions were listed by the KL (nats) each carries, and showed no nats."""
    from explorer.analysis import metrics
    from explorer.data import datasets

    at = open_page("explorer/ui/pages/interpolate.py", model)
    d = at.selectbox(key="trav_dim").value
    loaded, _ = checkpoints.load_model(ROOT / model)
    x = datasets.load_dataset(json.loads((ROOT / model / "card.json").read_text())["dataset"]
                              ["name"]).x_test
    if loaded.cfg.kind == "vae":
        said = f"z[{d}] carries {metrics.kl_per_dimension(loaded, x)[d]:.2f} nats"
    else:
        said = f"z[{d}]'s codes vary by {metrics.code_variance(loaded, x)[d]:.3g}"
    assert any(said in c.value for c in at.caption), [c.value for c in at.caption]


def test_traversal_slider_changes_the_image(runs):
    at = open_page("explorer/ui/pages/interpolate.py", "pretrained/mnist-vae-mlp-z16")
    slider = at.slider(key="trav_value")
    before = image_with_caption(at, r"z\[")  # image captions go out as escaped Markdown
    slider.set_value(slider.min).run()
    assert image_with_caption(at, r"z\[") != before


def test_new_samples_button_changes_the_grid(runs):
    at = open_page("explorer/ui/pages/sample.py")
    before = all_images(at)
    at.button[0].click().run()
    assert all_images(at) != before
    assert at.number_input(key="sample_seed").value == 1


def test_grid_with_the_same_dimension_twice_says_so(runs):
    at = open_page("explorer/ui/pages/interpolate.py", "pretrained/mnist-vae-mlp-z16")
    first = at.selectbox(key="grid_i").value
    at.selectbox(key="grid_j").set_value(first).run()
    assert not at.exception
    assert any("two different dimensions" in i.value for i in at.info)


def test_compare_lists_models_and_the_pca_baseline(runs):
    at = open_page("explorer/ui/pages/compare.py")
    table = at.dataframe[0].value
    assert "mnist-vae-mlp-z2" in table.index and "PCA (2)" in table.index
    assert (table["MSE"] > 0).all()


def test_compare_bad_indices_get_a_sentence(runs):
    at = open_page("explorer/ui/pages/compare.py")
    at.segmented_control(key="compare_how").set_value("by index").run()
    at.text_input(key="compare_idx").input("3, banana, 99999").run()
    assert not at.exception
    assert any("whole numbers" in e.value for e in at.error)


def test_map_of_a_projected_model_uses_the_shipped_projection(runs):
    at = open_page("explorer/ui/pages/latent_map.py", "pretrained/mnist-vae-mlp-z16")
    assert at.segmented_control(key="map_method").value == "umap"
    assert not at.info, "a shipped UMAP map appears at once, with no waiting message"


def test_a_hostile_card_shows_as_typed_without_links_or_images(runs, digits_vae):
    import shutil

    folder = runs / "hostile"
    shutil.copytree(digits_vae[2], folder)
    card = json.loads((folder / "card.json").read_text())
    phishing, image = "[Log in again](http://evil.example/login)", "![x](http://evil.example/t.png)"
    card["dataset"]["name"] = phishing
    card["train"].update(batch_size=image, lr="<img src=http://evil.example/a.png>",
                         epochs_done=f"{phishing} 3")
    card["metrics"][image] = 0.5
    (folder / "card.json").write_text(json.dumps(card))
    at = open_page("explorer/ui/pages/train.py", "runs/hostile")
    assert not at.error
    table = at.sidebar.table[0].value  # the card, in the sidebar's expander
    cells = [str(c) for c in [*table.columns, *table.iloc[0]]]
    assert r"\[Log in again\]\(http\://evil.example/login\)" in cells  # shown as typed ...
    assert not any("](" in c or "<img" in c for c in cells), cells  # ... never a link or image
    # where a number belongs, text is not shown at all
    assert {"batch size", "learning rate", "epochs"}.isdisjoint(table.columns)


@pytest.fixture
def broken_models(runs, digits_vae):
    """Two digits models in the runs folder: one whose weights file is cut short, one whose
    weights (3e38, near float32's limit) pass the loader's checks but give infinite codes."""
    import shutil



    shutil.copytree(digits_vae[2], runs / "cut-short")
    weights = runs / "cut-short" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    model, card, _ = digits_vae
    huge = models.build_model(model.cfg)
    huge.load_state_dict({k: torch.full_like(v, 3e38) for k, v in model.state_dict().items()})
    checkpoints.save_model(huge, runs / "huge", {**card, "name": "huge"})
    return runs


def test_a_model_that_cannot_be_compared_fails_alone_even_from_a_link(broken_models):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"model": "pretrained/digits-vae-mlp-z2",
                            "compare_models": ["cut-short", "huge"]})  # as the URL has them
    at.run()
    at.switch_page("explorer/ui/pages/compare.py").run()
    assert not at.exception, [e.message for e in at.exception]
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("runs/cut-short cannot be compared: ") for w in warnings), warnings
    assert any(w.startswith("runs/huge cannot be compared: ") and "overflow" in w
               for w in warnings), warnings
    assert not any(str(broken_models) in w for w in warnings)  # no server path
    assert image_with_caption(at, "MSE")  # the working rows are still there
    assert list(at.dataframe[0].value.index) == ["digits-vae-mlp-z2", "PCA (2)"]


def test_a_model_with_infinite_codes_gets_a_sentence_on_interpolate(broken_models):
    at = open_page("explorer/ui/pages/interpolate.py", "runs/huge")
    assert "overflow" in at.error[0].value and not at.image


APP_PAGES = [TABLE[key].path for key in ("map", "compare", "interpolate", "sample", "draw",
                                          "inside")]


def test_the_app_shows_a_sentence_for_every_bad_run(tmp_path, marker, monkeypatch):
    from streamlit.testing.v1 import AppTest

    runs = tmp_path / "runs"
    _model_folder(runs / "evil", evil_pickle(marker), _card(
        ModelConfig(kind="vae", image_shape=(1, 28, 28), latent_dim=2, hidden=(16,)), "mnist-5k"))
    (runs / "pt-only").mkdir()
    (runs / "pt-only" / "model.pt").write_bytes(evil_torch_save(marker))
    _set_config(_saved(runs / "bomb"), image_shape=[1, 100_000, 100_000], hidden=[4096])
    _nan_weights(_saved(runs / "nan"))
    monkeypatch.setenv("EXPLORER_RUNS_DIR", str(runs))
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    for run in ("evil", "nan"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["model"] = f"runs/{run}"
        at.run()
        for page in APP_PAGES:
            if page != APP_PAGES[0]:
                at.switch_page(page).run()
            assert not at.exception, (run, page, [e.message for e in at.exception])
            assert at.session_state["model"] == f"runs/{run}"
            errors = [e.value for e in at.error]
            assert any("could not be loaded" in e for e in errors), (run, page, errors)
            assert not any(str(tmp_path) in e for e in errors), errors  # no server paths
        skipped = [c.value for c in at.sidebar.caption if "Skipped" in c.value]
        assert any("model.pt" in c for c in skipped), skipped
        # A card describing a model beyond the server's limits is never offered at all.
        assert any("runs/bomb" in c and "too large" in c for c in skipped), skipped
        assert not any(str(tmp_path) in c for c in skipped), skipped


def test_rate_distortion_page_places_every_model_of_the_dataset(runs):
    at = open_page("explorer/ui/pages/rate_distortion.py", "pretrained/mnist-vae-mlp-z2")
    assert not at.error, [e.value for e in at.error]
    table = at.main.table[0].value
    assert "pretrained/mnist-vae-mlp-z2" not in set(table["model"])  # names, not ids
    assert {"mnist-vae-mlp-z2", "mnist-ae-mlp-z2", "mnist-vae-z8-beta1"} <= set(table["model"])
    rate, distortion, neg_elbo = (f"{k}, nats per image" for k in ("rate", "distortion", "−ELBO"))
    vaes = table[table[rate].notna()]
    assert (vaes[rate] + vaes[distortion] - vaes[neg_elbo]).abs().max() < 0.02
    assert table[table["model"] == "mnist-ae-mlp-z2"][rate].isna().all()  # AE: at the edge
    assert any("floor" in c.value and "Σ H(x)" in c.value for c in at.caption)
    at.segmented_control(key="rd_likelihood").set_value("binarized").run()
    assert list(at.main.table[0].value["model"]) == ["mnist-vae-binarized-z16"]


def test_the_sidebar_and_rate_distortion_give_a_beta_vae_the_same_number(runs):
    """The sidebar names its number (−ELBO, nats per image) and it is the −ELBO the Rate and
    distortion table shows for that model, not the β-weighted training loss."""
    at = open_page("explorer/ui/pages/rate_distortion.py", "pretrained/mnist-betavae-mlp-z16")
    table = at.main.table[0].value.set_index("model")
    neg_elbo = table.loc["mnist-betavae-mlp-z16", "−ELBO, nats per image"]
    summary = at.sidebar.caption[0].value
    assert f"test −ELBO {neg_elbo:.1f} nats per image" in summary, summary


def test_rate_distortion_table_dashes_what_an_autoencoder_has_not_and_says_why(runs):
    at = open_page("explorer/ui/pages/rate_distortion.py", "pretrained/mnist-vae-mlp-z2")
    cells = dataframe_util.convert_arrow_bytes_to_pandas_df(
        at.main.table[0].proto.arrow_data.styler.display_values)
    ae = cells[cells["model"] == "mnist-ae-mlp-z2"].iloc[0]
    assert [ae["β"], ae["rate, nats per image"], ae["−ELBO, nats per image"]] == ["—"] * 3
    assert "None" not in set(map(str, cells.to_numpy().ravel()))
    assert any("autoencoder has no rate" in c.value and "posterior" in c.value
               for c in at.caption)


def rd(name: str, body: str, beta: float, rate: float | None = 10.0,
       where: str = "pretrained") -> RDPoint:
    return RDPoint(f"{where}/{name}", name, "vae" if rate is not None else "ae", beta, "bernoulli",
                   body, rate, 100.0 - (rate or 0), 46.0)


def test_only_models_differing_in_beta_make_a_sweep_each_in_its_own_colour():
    points = [rd("a1", "VAE · MLP 400 · z=2", 1.0, 5.0), rd("a2", "VAE · MLP 400 · z=2", 1.0, 6.0),
              rd("a3", "VAE · MLP 400 · z=2", 1.0, 7.0),  # three runs of one β: no sweep
              rd("b1", "VAE · MLP 256 · z=8", 1.0, 20.0), rd("b4", "VAE · MLP 256 · z=8", 4.0, 9),
              rd("c1", "VAE · MLP 400 · z=16", 1.0, 25.0), rd("c4", "VAE · MLP 400 · z=16", 4.0, 8),
              rd("ae", "AE · MLP 400 · z=2", 1.0, None)]
    assert list(rdplane.sweeps(points)) == ["VAE · MLP 256 · z=8", "VAE · MLP 400 · z=16"]
    fig = figures_compare.rate_distortion_figure(points)
    lines = [t for t in fig.data if (t.name or "").startswith("β sweep")]
    assert [t.name for t in lines] == ["β sweep: VAE · MLP 256 · z=8",
                                       "β sweep: VAE · MLP 400 · z=16"]
    assert len({t.line.color for t in lines}) == 2, "each sweep its own colour"
    labels = {i: label for t in fig.data if t.customdata is not None
              for i, label in zip(t.customdata, t.text or [""] * len(t.customdata), strict=True)}
    assert [labels[f"pretrained/{n}"] for n in ("a1", "a2", "a3")] == ["", "", ""]  # no pile-up
    assert labels["pretrained/b4"] == "β=4" and labels["pretrained/c1"] == "β=1"
    # Every legend entry is one colour, so the legend says what each colour is.
    assert all(isinstance(t.marker.color, str) for t in fig.data if t.customdata is not None)


def test_students_runs_are_named_points_of_their_own_never_joined_to_the_shipped_sweep():
    """Two students' runs with the shipped z=8 sweep's settings (β = 1 and β = 4): each is a
    point in its student's colour, labelled with the name, no line; the sweep keeps its two."""
    body = "VAE · MLP 256 · z=8"
    points = [rd("b1", body, 1.0, 20.0), rd("b4", body, 4.0, 9.0),
              rd("ada-run", body, 1.0, 21.0, "runs"), rd("bob-run", body, 4.0, 10.0, "runs"),
              rd("<b>eve</b>", "AE · MLP 400 · z=2", 1.0, None, "runs")]
    assert [p.id for p in rdplane.sweeps(points)[body]] == ["pretrained/b1", "pretrained/b4"]
    fig = figures_compare.rate_distortion_figure(
        points, owners={"runs/ada-run": "Ada", "runs/bob-run": "<i>Bob</i>"})
    traces = {i: t for t in fig.data if t.customdata is not None for i in t.customdata}
    sweep = traces["pretrained/b1"]
    assert "runs/ada-run" not in sweep.customdata and "lines" in sweep.mode
    ada, bob = traces["runs/ada-run"], traces["runs/bob-run"]
    assert list(ada.customdata) == ["runs/ada-run"] and "lines" not in ada.mode
    assert ada.name == "Ada" and list(ada.text) == ["Ada"]
    assert bob.name == "&lt;i&gt;Bob&lt;/i&gt;", "a name is shown as typed, not as HTML"
    assert len({ada.marker.color, bob.marker.color, sweep.marker.color}) == 3
    eve = traces["runs/<b>eve</b>"]  # a run outside a class: named after itself, at the edge
    assert eve.name == "&lt;b&gt;eve&lt;/b&gt;" and eve.x[0] > 21
