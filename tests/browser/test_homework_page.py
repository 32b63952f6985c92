"""The exported homework page in Chromium, opened from file:// with every network request
refused: the map, the A-B slider and the samples decode in the browser, and draw what the
Python decoder draws."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from playwright.sync_api import expect

from explorer.analysis.latent import decode, encode_dataset
from explorer.data.datasets import load_dataset
from explorer.lessons.homework import write_bundle
from explorer.runs.checkpoints import load_model

pytestmark = pytest.mark.browser
LOCAL = ("file:", "blob:", "data:")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return write_bundle("no-holes", tmp_path_factory.mktemp("homework") / "no-holes")


@pytest.fixture
def offline(page):
    """The page, with every request that is not to a local file (or made in memory) refused."""
    refused = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(LOCAL):
            request_route.continue_()
        else:
            refused.append(url)
            request_route.abort()

    page.route("**/*", route)
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    yield page
    assert not refused, f"the page asked the network for {refused[:3]}"
    assert not errors, errors


def open_page(page, index):
    page.goto(index.as_uri())
    page.wait_for_selector("body:not([data-state=loading])", timeout=60_000)
    assert page.get_attribute("body", "data-state") == "ready", page.text_content("#status")


def pixels(page, selector) -> np.ndarray:
    grey = page.eval_on_selector(selector, """c => Array.from(
        c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 == 0))""")
    return np.array(grey, dtype=np.float64).reshape(28, 28) / 255


def code(page, selector) -> np.ndarray:
    return np.array(json.loads(page.get_attribute(selector, "data-z")), dtype=np.float32)


def test_map_slider_and_samples_decode_in_the_browser_as_python_does(offline, bundle):
    page = offline
    open_page(page, bundle)
    ae, _ = load_model("pretrained/mnist-ae-mlp-z2")  # the lesson's first model
    from explorer.lessons.catalogue import lesson

    first = lesson("no-holes").steps[0]
    expect(page.locator("#steps li").first).to_contain_text(f"{first.label} {first.prompt}")
    page.locator("#map").scroll_into_view_if_needed()  # below the steps and their prompts
    box = page.locator("#map").bounding_box()

    before = page.get_attribute("#decoded", "data-z")
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.7)
    expect(page.locator("#decoded")).not_to_have_attribute("data-z", before)
    clicked, shown = code(page, "#decoded"), pixels(page, "#decoded")
    assert np.abs(shown - decode(ae, clicked)[0]).max() <= 1 / 255 + 1e-6

    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.4, steps=5)
    page.mouse.up()
    expect(page.locator("#decoded")).not_to_have_attribute("data-z", json.dumps(clicked.tolist()))
    dragged = code(page, "#decoded")
    assert dragged[0] > clicked[0] and dragged[1] > clicked[1]  # right and up, as the drag went
    assert np.abs(pixels(page, "#decoded") - decode(ae, dragged)[0]).max() <= 1 / 255 + 1e-6
    assert np.abs(pixels(page, "#decoded") - shown).max() > 0.2  # another picture

    x = load_dataset("mnist-5k").x_test[:2]
    a, b = encode_dataset(ae, x)
    middle = pixels(page, "#between")
    page.locator("#t").fill("0.9")
    expect(page.locator("#caption-t")).to_have_text("t = 0.90")
    z = code(page, "#between")
    assert np.allclose(z, 0.1 * a + 0.9 * b, atol=1e-5)
    near_b = pixels(page, "#between")
    assert np.abs(near_b - decode(ae, z)[0]).max() <= 1 / 255 + 1e-6
    assert np.abs(near_b - middle).max() > 0.1

    first = page.get_attribute("#samples canvas", "data-z")
    page.locator("#seed").fill("7")
    page.locator("#draw").click()
    expect(page.locator("#samples canvas").first).not_to_have_attribute("data-z", first)
    sample = code(page, "#samples canvas >> nth=0")
    assert np.abs(pixels(page, "#samples canvas >> nth=0") - decode(ae, sample)[0]).max() <= 1 / 255 + 1e-6


def test_the_browser_decoder_is_within_1e4_of_pytorch_on_100_codes(offline, bundle):
    page = offline
    open_page(page, bundle)
    vae, _ = load_model("pretrained/mnist-vae-mlp-z2")
    z = np.random.default_rng(1).normal(0, 1.5, size=(100, 2)).astype(np.float32)
    got = page.evaluate("async z => Array.from(await window.homework.decode(1, z, 100))",
                        z.ravel().tolist())
    got = np.array(got, dtype=np.float32).reshape(100, 28, 28)
    assert np.abs(got - decode(vae, z)).max() < 1e-4


def test_a_tampered_bundle_shows_its_markup_as_text_and_runs_none_of_it(offline, bundle, tmp_path):
    page = offline
    hostile = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
    html = bundle.read_text(encoding="utf-8")
    data = re.search(r'id="lesson-data">(.*?)</script>', html, re.S).group(1)
    document = json.loads(data)
    document["lesson"]["title"] = hostile
    document["datasets"][0]["class_names"][3] = hostile
    escaped = json.dumps(document).replace("<", "\\u003c")  # as an editor of the JSON would
    folder = bundle.parent
    (folder / "tampered.html").write_text(html.replace(data, escaped), encoding="utf-8")
    open_page(page, folder / "tampered.html")
    expect(page.locator("h1")).to_have_text(hostile)
    expect(page.locator("#legend")).to_contain_text(hostile)
    assert page.locator("h1 img, h1 script, #legend img").count() == 0
    assert page.evaluate("() => window.pwned") is None

    # raw markup in the JSON ends its element: the page refuses the data, and runs no script
    (folder / "broken.html").write_text(html.replace(data, data.replace(
        '"title":', f'"title":"{hostile}","x":', 1)), encoding="utf-8")
    page.goto((folder / "broken.html").as_uri())
    page.wait_for_selector("body:not([data-state=loading])", timeout=60_000)
    assert page.get_attribute("body", "data-state") == "error"
    expect(page.locator("#status")).to_contain_text("could not be read")
    assert page.evaluate("() => window.pwned") is None


def test_a_bundle_without_its_runtime_says_so_and_still_shows_the_lesson(offline, bundle,
                                                                         tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(bundle.parent, folder, ignore=shutil.ignore_patterns("ort-binary.js"))
    page = offline
    page.goto((folder / "index.html").as_uri())
    page.wait_for_selector("body:not([data-state=loading])", timeout=60_000)
    assert page.get_attribute("body", "data-state") == "error"
    expect(page.locator("#status")).to_contain_text("ONNX Runtime Web is missing")
    from explorer.lessons.catalogue import lesson

    expect(page.locator("h1")).to_have_text(lesson("no-holes").title)
