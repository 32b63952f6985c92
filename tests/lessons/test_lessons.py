"""Lessons as steps: search and tags find them, a lesson file round-trips, every bad lesson file
is refused or its bad parts dropped with a sentence, and on the pages the lesson bar leads from
step to step, a file's prompts stay text, and a teacher's views become a lesson file.
"""

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.lessons import catalogue, lesson_file
from explorer.lessons.lesson_file import LessonFileError, read, to_json
from explorer.lessons.steps import Lesson, Question, Step, search
from explorer.ui.pages import PAGES

ROOT = Path(__file__).resolve().parents[2]
PAGE_NAMES = set(PAGES)
HOSTILE = ("<script>window.pwned = 1</script> **bold** [site](javascript:alert(1)) "
           "<img src=x onerror=alert(1)> :red[alarm]")


def document(**changes) -> dict:
    """A good lesson file's document, with `changes` applied at the top level."""
    good = {"format": lesson_file.FORMAT, "version": 1, "title": "My lesson", "tags": ["β"],
            "text": "Two steps.",
            "steps": [{"page": "map", "view": {"model": catalogue.AE_Z2}, "prompt": "Look.",
                       "minutes": 2},
                      {"page": "sample", "view": {"model": catalogue.VAE_Z2}, "prompt": "Draw."}]}
    return {**good, **changes}


def as_bytes(doc) -> bytes:
    return json.dumps(doc).encode()


# -- finding a lesson ------------------------------------------------------------------------
def test_ae_vs_vae_latent_space_finds_the_ae_vae_lesson_first():
    found, every_word = search(catalogue.LESSONS, "AE vs VAE latent space")
    assert every_word and found[0].slug == "no-holes", [x.slug for x in found]


def test_search_reads_prompts_and_other_spellings():
    found, _ = search(catalogue.LESSONS, "collapsed dimension")  # only in a step's prompt
    assert [x.slug for x in found] == ["posterior-collapse"]
    assert {x.slug for x in search(catalogue.LESSONS, "beta")[0]} >= {"beta", "rate-distortion"}
    assert search(catalogue.LESSONS, "zebra giraffe") == ([], False)


def test_a_tag_keeps_only_its_lessons():
    found, _ = search(catalogue.LESSONS, "", ["diffusion"])
    assert [x.slug for x in found] == ["latent-diffusion"]
    found, _ = search(catalogue.LESSONS, "", ["β"])
    assert all("β" in x.tags for x in found) and len(found) >= 3


# -- the shipped lessons ---------------------------------------------------------------------
def test_every_shipped_step_opens_a_real_page_with_a_prompt_and_time():
    for item in catalogue.LESSONS:
        assert item.tags and item.minutes == sum(s.minutes for s in item.steps), item.slug
        for step in item.steps:
            assert step.page in PAGE_NAMES and step.prompt and step.label, (item.slug, step)
            assert 0 < step.minutes <= lesson_file.MAX_MINUTES


def test_the_prompts_numbers_are_the_shipped_models_numbers():
    from explorer.analysis.metrics import kl_per_dimension
    from explorer.data.datasets import load_dataset
    from explorer.runs.checkpoints import load_model
    from explorer.runs.store import PRETRAINED_DIR

    prompts = {s.label: " ".join(s.prompt.split()) for x in catalogue.LESSONS for s in x.steps}
    beta, plain = (json.loads((ROOT / m / "card.json").read_text())["metrics"]
                   for m in (catalogue.BETA_VAE_Z16, catalogue.VAE_Z16))
    model, _ = load_model(ROOT / catalogue.BETA_VAE_Z16)
    kl = kl_per_dimension(model, load_dataset("mnist-5k").x_test)
    said = prompts["The β-VAE's KL per dimension"]
    assert f"carries {beta['kl']:.1f} nats in all, against {plain['kl']:.1f}" in said
    assert f"{(kl < 0.01).sum()} of its 16 bars are almost 0" in said
    assert f"where the β-VAE keeps {beta['active_units']}" in prompts["The plain VAE"]
    rates = {b: json.loads((ROOT / m / "card.json").read_text())["metrics"]["rate"]
             for b, m in catalogue.SWEEP.items()}
    assert (f"β = 0.25 (rate {rates[0.25]:.1f} nats) to β = 8 (rate {rates[8.0]:.1f} nats)"
            in prompts["The plane"])

    def fd(name, row):
        card = json.loads((PRETRAINED_DIR / name / "diffusion.json").read_text())
        return round(card["scores"]["rows"][row]["fid"])

    ae, vae = "mnist-ae-mlp-z16-diffusion", "mnist-vae-mlp-z16-diffusion"
    assert (f"Fréchet distance of {fd(ae, 'diffusion-ddpm')}, against {fd(ae, 'fitted')} from "
            "a Gaussian fitted") in prompts["16-D: the AE with a learned prior"]
    assert (f"prior scores {fd(vae, 'prior')}, the learned prior {fd(vae, 'diffusion-ddpm')}"
            in prompts["16-D: the VAE with a learned prior"])


# -- lesson files ----------------------------------------------------------------------------
def test_a_lesson_file_round_trips_steps_views_prompts_and_questions():
    original = catalogue.lesson("no-holes")
    lesson, notes = read(to_json(original), PAGE_NAMES)
    assert notes == []
    assert lesson.title == original.title and lesson.tags == original.tags
    assert lesson.steps == original.steps  # pages, views, prompts, minutes, labels, questions


@pytest.mark.parametrize(("data", "says"), [
    (b"x" * (lesson_file.MAX_BYTES + 1), "a lesson file is at most 256 KB"),
    (b"\x80\x04\x95 not json", "not JSON text"),
    (b"[1, 2, 3]", "not a lesson saved by Latent Explorer"),
    (as_bytes(document(version=7)), "this app reads version 1"),
    (as_bytes(document(title=["a list"])), "has no title"),
    (as_bytes(document(steps=[])), "has no steps"),
    (as_bytes(document(steps="map")), "has no steps"),
    (as_bytes(document(steps=[{"page": "map"}] * 101)), "a lesson has at most 100"),
    (as_bytes(document(steps=[{"page": "admin"}, {"page": "../../etc"}])),
     "None of this lesson's steps opens a page"),
    (b"[" * 100_000 + b"]" * 100_000, "not JSON text"),  # too deep for the parser: refused
], ids=["oversized", "pickle-bytes", "a-list", "version", "title", "no-steps", "steps-text",
        "101-steps", "unknown-pages", "deep"])
def test_a_bad_lesson_file_is_refused_with_a_sentence(data, says):
    with pytest.raises(LessonFileError, match=says.replace("(", r"\(")):
        read(data, PAGE_NAMES)


def test_a_pickle_is_refused_and_never_unpickled(marker):
    from tests.hostile import evil_pickle

    with pytest.raises(LessonFileError, match="not JSON text"):
        read(evil_pickle(marker), PAGE_NAMES)


def test_a_files_bad_parts_are_dropped_each_with_a_sentence():
    doc = document(extra="x", tags=["ok", 5, "y" * 99])
    doc["steps"] = [
        {"page": "nowhere", "prompt": "lost"},
        {"page": "map", "view": {"model": catalogue.AE_Z2, "Bad Key": "1", "present": "true",
                                 "map_find_index": 3, "huge": "9" * 600, "map_dim": {"a": 1}},
         "prompt": 12, "minutes": "ten", "script": "alert(1)"},
        {"page": "sample", "view": ["not", "a", "dict"], "minutes": 1e9,
         "question": {"kind": "choice", "prompt": "Which?", "options": ["only one"]}},
        {"page": "inside", "question": {"kind": "vote", "prompt": "?"}},
        "not a step",
        {"page": "compare", "question": {"kind": "number", "prompt": "How many?",
                                         "options": ["x"], "answer": 4}},
    ]
    lesson, notes = read(as_bytes(doc), PAGE_NAMES)
    assert [s.page for s in lesson.steps] == ["map", "sample", "inside", "compare"]
    kept = lesson.steps[0]
    assert kept.view == {"model": catalogue.AE_Z2, "map_find_index": "3"}
    assert kept.prompt == "" and kept.minutes == lesson_file.DEFAULT_MINUTES
    assert lesson.steps[1].view == {} and lesson.steps[1].question is None
    assert lesson.steps[2].question is None
    assert lesson.steps[3].question == Question("number", "How many?")
    assert lesson.tags == ("ok",)
    text = " ".join(notes)
    for said in ("The file had keys this app does not know (extra)",
                 "Step 1 opens a page this app does not have (nowhere)",
                 "Step 2 had keys this app does not know (script)",
                 "Step 2's view had settings this app cannot use (Bad Key, present, huge, "
                 "map_dim)",
                 "Step 2's prompt is not text", "Step 2's time is not a number of minutes",
                 "Step 3's view is not a set of named values",
                 "Step 3's time is not a number of minutes",
                 "Step 3's multiple-choice question needs 2 to 8 answers",
                 "Step 4's question needs a kind (choice, number, click)",
                 "Step 5 is not a step", "Step 6's question had keys this app does not know "
                 "(answer)", "so its options were ignored", "Tags must be text"):
        assert said in text, (said, notes)


def test_markup_in_a_file_is_kept_as_typed_for_the_pages_to_show_as_text():
    doc = document()
    doc["steps"][0]["prompt"] = HOSTILE
    lesson, _ = read(as_bytes(doc), PAGE_NAMES)
    assert lesson.steps[0].prompt == HOSTILE  # data: the bar escapes it (below)


# -- on the pages ----------------------------------------------------------------------------
def open_lessons(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(query or {})
    at.run()
    at.switch_page("explorer/ui/pages/lessons.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def bar_text(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value and not m.value.startswith("<style>")]


def test_search_on_the_page_and_the_bar_leads_from_step_to_step(runs):
    at = open_lessons({"lesson_q": "AE vs VAE latent space"})
    cards = [c for c in at.get("flex_container") if str(c.key).startswith("lesson_card_")] \
        if hasattr(at, "get") else []
    starts = [b.key for b in at.button if str(b.key).startswith("lesson_start_")]
    assert starts[0] == "lesson_start_no-holes", starts
    assert "lesson_start_ae-vs-pca" not in starts or cards is not None
    at.button(key="lesson_start_no-holes").click().run()
    lesson = catalogue.lesson("no-holes")
    assert at.title[0].value == "Inside the latent space"
    said = " ".join(bar_text(at))
    assert "step 1 of 4" in said and "5 min" in said and "about half for the AE" in said
    assert "Which model leaves more holes" in said and "(A) The AE · (B) The VAE" in said
    assert at.button(key="lesson_back").disabled
    at.button(key="lesson_next").click().run()
    assert at.title[0].value == "Latent map" and "step 2 of 4" in " ".join(bar_text(at))
    at.button(key="lesson_next").click().run()
    assert at.title[0].value == "Interpolate"
    assert at.session_state["interp_tab"] == catalogue.GRID_TAB
    assert at.selectbox(key="model").value == lesson.steps[2].model
    at.button(key="lesson_back").click().run()
    assert at.title[0].value == "Latent map" and "step 2 of 4" in " ".join(bar_text(at))
    at.button(key="lesson_end").click().run()
    assert not [m for m in bar_text(at) if "step 2 of 4" in m]


def test_an_imported_lessons_markup_shows_as_text(runs):
    doc = document(title="<b>Evil</b> [x](http://e.test)")
    doc["steps"][0]["prompt"] = HOSTILE
    doc["steps"][0]["label"] = "![x](http://e.test/i.png)"
    doc["steps"][0]["question"] = {"kind": "choice", "prompt": "<i>Q</i>",
                                   "options": ["<script>a</script>", "**b**"]}
    at = open_lessons()
    at.file_uploader(key="lesson_import").set_value(("evil.json", as_bytes(doc),
                                                      "application/json")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("Imported" in s.value for s in at.success)
    step_button = at.button(key="lesson_mine-b-evil-b-x-http-e-test_0")
    assert step_button.label == "1. \\!\\[x\\]\\(http\\://e.test/i.png\\)"  # loads no image
    at.button(key="lesson_start_mine-b-evil-b-x-http-e-test").click().run()
    assert at.title[0].value == "Latent map"
    shown = bar_text(at)
    (prompt,) = [m for m in shown if "pwned" in m]
    # every character that would make a tag, a link or emphasis is escaped: it shows as typed
    assert "\\<script\\>" in prompt and "\\*\\*bold\\*\\*" in prompt
    assert "\\[site\\]\\(javascript\\:alert\\(1\\)\\)" in prompt and "\\:red" in prompt
    assert not re.search(r"(?<!\\)[<>\[\]*`]", prompt), prompt  # none left unescaped
    (title,) = [m for m in shown if "Evil" in m]
    assert "\\<b\\>Evil\\</b\\>" in title
    (question,) = [m for m in shown if "Ask the class" in m]
    assert "\\<i\\>Q\\</i\\>" in question and "\\<script\\>a" in question
    assert not any("<script" in h.proto.body for h in at.get("html"))


def test_a_refused_file_says_why_and_adds_nothing(runs):
    at = open_lessons()
    at.file_uploader(key="lesson_import").set_value(
        ("big.json", b" " * (lesson_file.MAX_BYTES + 10), "application/json")).run()
    assert any("a lesson file is at most 256 KB" in e.value for e in at.error)
    assert at.session_state["_lessons_mine"] == []


def test_views_added_as_steps_download_as_a_lesson_file_that_imports(runs, monkeypatch):
    written = []  # the bytes the page hands its download button
    real = lesson_file.to_json
    monkeypatch.setattr(lesson_file, "to_json", lambda x: written.append(real(x)) or written[-1])
    at = open_lessons()
    at.switch_page("explorer/ui/pages/sample.py").run()
    at.text_area(key="draft_prompt").input("Are these digits?").run()
    at.number_input(key="draft_minutes").set_value(4.0).run()
    at.button(key="draft_add").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.text_area(key="draft_prompt").value == ""  # ready for the next step
    at.switch_page("explorer/ui/pages/compare.py").run()
    at.button(key="draft_add").click().run()
    at.switch_page("explorer/ui/pages/lessons.py").run()
    at.text_input(key="draft_title").input("Samples then reconstructions").run()
    at.text_input(key="draft_tags").input("VAE, mine").run()
    assert [b for b in at.get("download_button") if b.key == "draft_download"]
    lesson, notes = read(written[-1], PAGE_NAMES)
    assert notes == []
    assert lesson.title == "Samples then reconstructions" and lesson.tags == ("VAE", "mine")
    assert [(s.page, s.prompt, s.minutes) for s in lesson.steps] == [
        ("sample", "Are these digits?", 4.0), ("compare", "", 3.0)]
    assert all(s.model == at.selectbox(key="model").value for s in lesson.steps)
    at.button(key="draft_remove_0").click().run()
    at.button(key="draft_start").click().run()  # the one step left, run as a lesson
    assert at.title[0].value == "Reconstructions"
    assert "step 1 of 1" in " ".join(bar_text(at))


def test_a_lesson_is_a_plain_dataclass_the_file_keeps():
    lesson = Lesson("x", "X", "", (Step("map", {"model": "m"}, "p", 2.5, "L",
                                        Question("click", "Where will a 7 decode?")),))
    back, notes = read(to_json(lesson), PAGE_NAMES)
    assert notes == [] and back.steps == lesson.steps


def test_a_step_whose_model_is_not_here_says_so_and_shows_the_sidebars(runs):
    doc = document()
    doc["steps"][1]["view"] = {"model": "runs/gone-since-monday"}
    at = open_lessons()
    at.file_uploader(key="lesson_import").set_value(("gone.json", as_bytes(doc),
                                                      "application/json")).run()
    at.button(key="lesson_start_mine-my-lesson").click().run()
    at.button(key="lesson_next").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Sample new images"
    assert any("runs/gone-since-monday, which is not on this server" in c.value
               for c in at.caption)


def test_a_files_view_sets_only_url_bound_settings_even_on_the_page_already_open(runs):
    """Steps on the page already shown (here Lessons, its search box bound to the URL) open their
    views; a view naming a session key that no widget binds leaves it alone."""
    doc = document(steps=[{"page": "lessons", "view": {"lesson_q": "beta", "teacher_note": "x"}},
                          {"page": "lessons", "view": {"lesson_q": "diffusion"}}])
    at = open_lessons()
    at.session_state["teacher_note"] = "kept"
    at.file_uploader(key="lesson_import").set_value(("same.json", as_bytes(doc),
                                                      "application/json")).run()
    at.button(key="lesson_start_mine-my-lesson").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.text_input(key="lesson_q").value == "beta"
    at.button(key="lesson_next").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.text_input(key="lesson_q").value == "diffusion"
    assert at.session_state["teacher_note"] == "kept"
