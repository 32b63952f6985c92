"""The glossary: every label a student sees on the Train page is plain words, and its help popover
(the technical term and its meaning) comes from the one glossary file."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.lessons import glossary
from explorer.ui.pages import PAGES

ROOT = Path(__file__).resolve().parents[2]


def test_every_entry_names_a_term_and_says_what_it_means():
    assert glossary.entries()
    for label, entry in glossary.entries().items():
        assert entry.term.strip() and len(entry.means.split()) >= 3, label
    with pytest.raises(KeyError):
        glossary.help("Body")  # the old word: renamed "Architecture"


@pytest.fixture
def train(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "no-data"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("explorer/ui/pages/train.py").run()
    assert not at.exception
    return at


@pytest.mark.parametrize("kind", ["ae", "vae", "cvae", "gan"])
def test_every_label_on_the_train_form_has_a_glossary_entry(train, kind):
    at = next(w for w in train.segmented_control if w.key == "train_kind").set_value(kind).run()
    widgets = [w for kind_ in (at.number_input, at.selectbox, at.text_input,
                               at.segmented_control) for w in kind_
               if (w.key or "").startswith("train_") or w.key == "model"]
    assert len(widgets) >= 10  # "Advanced" included: folded, not left out
    assert "Model to explore" in {w.label for w in widgets}  # the sidebar's, not a model type
    missing = [w.label for w in widgets if w.label not in glossary.entries()]
    assert not missing, f"labels without a glossary entry: {missing}"
    for w in widgets:
        assert w.help and w.help.startswith(glossary.help(w.label)), w.label


def test_in_presenter_mode_the_grid_names_its_extent_not_the_hidden_slider(runs):
    """Presenter mode hides the Extent slider: the caption said "±Extent" all the same."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"present": "true", "model": "pretrained/digits-vae-mlp-z2",
                            "grid_extent": "2.5"})
    at.run()
    at.switch_page("explorer/ui/pages/interpolate.py").run()
    assert not at.exception
    captions = [c.value for c in at.caption if "grid decodes the square" in c.value]
    assert captions and "±2.5 around 0" in captions[0] and "Extent" not in captions[0]
    assert not [s for s in at.slider if s.key == "grid_extent"]  # hidden, as said


# Every page a student opens, and the tabs and views that draw other widgets (a tab that reruns on
# change draws only its own). The teacher's page is the teacher's: not walked.
Z16 = {"model": "pretrained/mnist-vae-mlp-z16"}
STUDENT_VIEWS = [(name, {}) for name in PAGES if name != "teacher"] + [
    *[("inside", {"inside_tab": tab}) for tab in ("Holes", "Uncertainty", "Training replay")],
    ("inside", {"inside_tab": "Holes", "holes_compare": "true"}),
    *[("inside", {**Z16, "inside_tab": tab}) for tab in ("KL per dimension", "Holes")],
    ("interpolate", Z16),
    *[("map", {"map_view": view}) for view in ("Two models", "Decode anywhere")],
    *[("map", {**Z16, "map_view": view}) for view in ("Map", "3-D", "Decode anywhere")],
    ("map", {"map_find": "image", "map_colour": "one latent dimension"}),
    ("map", {"map_find": "class"}),
    ("sample", {"model": "pretrained/mnist-cvae-mlp-z4"}),
    ("sample", {"model": "pretrained/mnist-gan-conv-z32"}),
]
WIDGETS = ("number_input", "selectbox", "text_input", "segmented_control", "slider",
           "select_slider", "checkbox", "toggle", "radio", "multiselect", "text_area",
           "date_input", "time_input", "color_picker")  # not buttons: an action's own words


def labels_and_help(at: AppTest) -> list[tuple[str, str, str]]:
    """(widget kind, label, help) of every widget drawn (a button's label is an action, "Train",
    "Stop", "Open": the words themselves, not walked)."""
    return [(kind, w.label, w.help or "") for kind in WIDGETS for w in getattr(at, kind, [])]


@pytest.fixture(scope="module")
def student_walk(tmp_path_factory):
    """Every view of STUDENT_VIEWS opened once: (label -> (kind, help, the views it was seen
    on), page -> the query parameters its widgets bound to the URL, recorded where Streamlit
    registers each binding)."""
    import os

    from streamlit.runtime.state.query_params import QueryParams
    from streamlit.testing.v1 import AppTest

    runs = tmp_path_factory.mktemp("runs")
    old = os.environ.get("EXPLORER_RUNS_DIR")
    os.environ["EXPLORER_RUNS_DIR"] = str(runs)
    seen: dict[str, tuple[str, str, set[str]]] = {}
    bound: dict[str, set[str]] = {}
    now = {"page": ""}
    bind_widget = QueryParams.bind_widget

    def recording(self, *args, **kwargs):
        bound.setdefault(now["page"], set()).add(kwargs.get("param_key", args[0] if args else ""))
        return bind_widget(self, *args, **kwargs)

    QueryParams.bind_widget = recording
    try:
        for name, query in STUDENT_VIEWS:
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
            at.query_params.update(query)
            if "model" in query:
                at.session_state["model"] = query["model"]
            now["page"] = "map"  # the app opens on the map
            at.run()
            now["page"] = name
            at.switch_page(PAGES[name].path).run()
            assert not at.exception, (name, query, [e.message for e in at.exception])
            where = f"{name}?{'&'.join(f'{k}={v}' for k, v in query.items())}"
            for kind, label, help_ in labels_and_help(at):
                seen.setdefault(label, (kind, help_, set()))[2].add(where)
    finally:
        QueryParams.bind_widget = bind_widget
        if old is None:
            os.environ.pop("EXPLORER_RUNS_DIR", None)
        else:
            os.environ["EXPLORER_RUNS_DIR"] = old
    return seen, bound


@pytest.fixture(scope="module")
def everything_a_student_sees(student_walk):
    return student_walk[0]


def test_every_widget_bound_to_the_url_is_part_of_its_pages_view(student_walk):
    """A link, a lesson step and "Class follows me" carry a page's view as the query parameters
    its widgets are bound to (explorer.lessons.steps.VIEW_KEYS and url_values.EXTRA_KEYS). A
    bound widget missing there is dropped from a shared link and kept across a lesson's steps:
    the student opens another view than the teacher's."""
    from explorer.ui.parts import url_values

    bound = student_walk[1]
    assert sum(map(len, bound.values())) >= 40  # the walk reached the pages' settings
    outside = {page: sorted(k for k in keys if k not in url_values.view_keys(page)
                            and k not in url_values.NOT_VIEW
                            and not (page == "train" and k.startswith("train_")))
               for page, keys in bound.items()}
    assert not {p: k for p, k in outside.items() if k}, (
        f"URL-bound widgets that no view of their page lists: {outside}")


def test_every_label_a_student_sees_has_a_glossary_entry(everything_a_student_sees):
    """Plain words first, the term second: a label with no entry fails here, with where it was
    seen (add it to explorer/lessons/glossary.toml: its term and what it means)."""
    seen = everything_a_student_sees
    assert len(seen) >= 60  # the walk reached the tabs and views, not the first screen alone
    missing = {label: sorted(where)[0] for label, (_, _, where) in seen.items()
               if glossary.entry_of(label) is None}
    assert not missing, f"labels without a glossary entry: {missing}"


def test_every_help_text_a_student_sees_says_what_the_glossary_says(everything_a_student_sees):
    """A help popover is the glossary's entry for its label (the term and its meaning), or at
    least carries its meaning word for word: one wording, in one file."""
    wrong = {}
    for label, (_, help_, where) in everything_a_student_sees.items():
        entry = glossary.entry_of(label)
        if help_ and entry and not (help_.startswith(glossary.help(label))
                                    or " ".join(entry.means.split()) in " ".join(help_.split())):
            wrong[label] = (sorted(where)[0], help_[:80])
    assert not wrong, f"help texts that differ from their glossary entry: {wrong}"
