"""Class names from an upload are shown as text on every page: never a link, an image that
loads from elsewhere, coloured Markdown or HTML. One dataset with hostile class names, one model
trained on it, and every page opened on that model."""

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer import usertext
from explorer.data import datasets
from explorer.families.models import ModelConfig
from explorer.jobs import run_training
from explorer.training.loop import TrainConfig
from explorer.ui.pages import PAGES

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ["![x](http://e.example/t.png)", "[link](http://e.example)",
           "<a href=http://e.example>a</a>", ":red[red] **bold**"]
# Markup that would render: an image or link, an HTML tag, Streamlit's colour directive.
RENDERED = re.compile(r"(?<!\\)(\]\(|<a |<img|:red\[|!\[)")


@pytest.fixture(scope="module")
def hostile_model(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    runs = tmp_path_factory.mktemp("runs")
    mp = pytest.MonkeyPatch()
    mp.setenv("EXPLORER_DATA_DIR", str(data))
    mp.setenv("EXPLORER_RUNS_DIR", str(runs))
    rng = np.random.default_rng(0)
    y = np.arange(48) % 4
    x = (rng.random((48, 8, 8)) * 0.3 + y[:, None, None] * 0.2).astype(np.float32)
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y, class_names=np.array(HOSTILE))
    datasets.add_user_dataset("hostile", buffer.getvalue(), "h.npz")
    cfg = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=2, hidden=(16,))
    run_training(cfg, TrainConfig(epochs=1, batch_size=16), "hostile", runs / "names")
    yield "runs/names"
    mp.undo()
    datasets.refresh_user_datasets()


def texts(at: AppTest) -> tuple[list[str], list[str]]:
    """(what is rendered as Markdown or HTML, plotly figures' JSON) of every element shown."""
    markdown, figures = [], []
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", "")
        if kind == "plotly_chart":
            figures.append(proto.spec)
        elif kind in ("markdown", "caption", "alert", "error", "warning", "info", "success"):
            markdown.append(str(getattr(node, "value", "") or getattr(proto, "body", "")))
        elif kind == "image":
            markdown += node.captions
    return markdown, figures


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def test_the_helpers_escape_for_their_place():
    assert not RENDERED.search(usertext.md(HOSTILE[0]))
    assert usertext.html("<a href=x>%{y}</a>") == "&lt;a href=x&gt;&#37;{y}&lt;/a&gt;"


@pytest.mark.parametrize("page_path", [p.path for p in PAGES.values()])
def test_hostile_class_names_show_as_text_on_every_page(page_path, hostile_model):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["model"] = hostile_model
    at.run()
    at.switch_page(page_path).run()
    assert not at.exception, [e.message for e in at.exception]
    markdown, figures = texts(at)
    rendered = [t for t in markdown if RENDERED.search(t)]
    assert not rendered, rendered
    strings = [t for spec in figures for t in _strings(json.loads(spec))]  # JSON escapes '<'
    assert not [t for t in strings if "<a " in t or "<img" in t]
    for box in at.selectbox:  # option labels are plain text: the names as uploaded
        shown = [o for o in box.options if any(h in o for h in HOSTILE)]
        assert all(not RENDERED.search(usertext.md(o)) for o in shown)


def test_the_names_are_shown_somewhere_escaped(hostile_model):
    """The page test is not vacuous: the map's legend and Reconstructions' captions hold them."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["model"] = hostile_model
    at.run()
    at.switch_page("explorer/ui/pages/compare.py").run()
    markdown, _ = texts(at)
    assert any(usertext.md(HOSTILE[1]) in t for t in markdown), markdown
    at.switch_page("explorer/ui/pages/latent_map.py").run()
    _, figures = texts(at)
    legend = [t["name"] for f in figures for t in json.loads(f).get("data", [])]
    assert usertext.html(HOSTILE[2]) in legend, legend
