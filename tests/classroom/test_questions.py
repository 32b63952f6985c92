"""Predict, then reveal, in the class store (SQLite, and PostgreSQL in the slow tier): the teacher
asks, students answer once and may change it until the reveal, only the teacher asks, reveals
and exports; the export has names, never tokens, and no cell a spreadsheet would run; a question
spec refuses bad input with a sentence."""

import csv
import io

import pytest
from sqlalchemy import create_engine, text
from test_classroom import db_url, open_db, pg_server  # noqa: F401 - the class suite's fixtures

from explorer.classroom import ClassError, TeacherRefused
from explorer.classroom import questions as q
from explorer.classroom.question_spec import QuestionError, parse_answer, parse_question

KEY = "correct horse battery staple"
HOLES = {"kind": "choice", "prompt": "Which model leaves more holes?",
         "options": ["The AE", "The VAE", "About the same"]}


@pytest.fixture
def room(open_db):  # noqa: F811
    """A store with a teacher key, a class and three students (one named like a formula)."""
    store = open_db(KEY)
    klass = store.open_class("Week 3", key=KEY)
    tokens = {name: store.join(klass.code, name)[1] for name in ("Ada", "=HYPERLINK(1)", "Cy")}
    return store, klass, tokens


def test_a_question_is_asked_answered_once_changed_revealed_and_closed(room):
    store, klass, tokens = room
    assert q.live(store, klass.id) is None  # nothing on the students' screens yet
    asked = q.ask(store, klass.id, HOLES, truth={"value": "The AE", "text": "computed"}, key=KEY)
    assert q.live(store, klass.id) == (asked.id, "open")
    q.answer(store, asked.id, tokens["Ada"], "The VAE")
    q.answer(store, asked.id, tokens["Ada"], "The AE")  # changed before the reveal: one answer
    q.answer(store, asked.id, tokens["Cy"], "The VAE")
    assert q.my_answer(store, asked.id, tokens["Ada"]) == "The AE"
    assert q.count(store, asked.id) == 2
    assert [(a.student, a.value) for a in q.answers(store, asked.id)] == [
        ("Ada", "The AE"), ("Cy", "The VAE")]
    with pytest.raises(ClassError, match="Pick one of the options"):
        q.answer(store, asked.id, tokens["Cy"], "The GAN")
    q.reveal(store, asked.id, key=KEY)
    assert q.live(store, klass.id) == (asked.id, "revealed")
    with pytest.raises(ClassError, match="revealed"):
        q.answer(store, asked.id, tokens["Cy"], "The AE")  # too late to change it
    assert q.my_answer(store, asked.id, tokens["Cy"]) == "The VAE"
    assert q.get(store, asked.id).truth["value"] == "The AE"
    q.close(store, asked.id, key=KEY)
    assert q.live(store, klass.id) is None


def test_a_new_question_closes_the_live_one_and_a_stated_answer_is_its_truth(room):
    store, klass, _ = room
    first = q.ask(store, klass.id, HOLES, key=KEY)
    second = q.ask(store, klass.id, {"kind": "number", "prompt": "How many?", "answer": "4"},
                   key=KEY)
    assert q.live(store, klass.id) == (second.id, "open")
    assert q.get(store, first.id).state == "closed"
    assert q.get(store, second.id).truth["value"] == 4.0
    assert first.truth is None  # no stated answer, no truth given


def test_only_the_teacher_asks_reveals_closes_and_exports(room):
    store, klass, tokens = room
    with pytest.raises(TeacherRefused):
        q.ask(store, klass.id, HOLES, key=tokens["Ada"])  # a student's token is not the key
    asked = q.ask(store, klass.id, HOLES, key=KEY)
    for action in (q.reveal, q.close):
        with pytest.raises(TeacherRefused):
            action(store, asked.id, key="guess")
    with pytest.raises(TeacherRefused):
        q.export_csv(store, klass.id, key=None)
    assert q.live(store, klass.id) == (asked.id, "open")


def test_a_student_answers_only_their_own_class_and_a_forged_token_is_refused(room):
    store, klass, tokens = room
    other = store.open_class("Week 4", key=KEY)
    stranger = store.join(other.code, "Eve")[1]
    asked = q.ask(store, klass.id, HOLES, key=KEY)
    with pytest.raises(ClassError, match="not one of your class"):
        q.answer(store, asked.id, stranger, "The AE")
    with pytest.raises(ClassError, match="Join the class"):
        q.answer(store, asked.id, "forged-token", "The AE")
    assert q.count(store, asked.id) == 0


def test_the_export_has_names_not_tokens_and_no_formula_runs(room, db_url):  # noqa: F811
    store, klass, tokens = room
    asked = q.ask(store, klass.id, {"kind": "number", "prompt": "=1+1 dimensions?"},
                  truth={"value": 14, "text": "14 of 16 active"}, key=KEY)
    q.answer(store, asked.id, tokens["=HYPERLINK(1)"], "-3")
    q.answer(store, asked.id, tokens["Ada"], 14)
    click = q.ask(store, klass.id, {"kind": "click", "prompt": "Where is a 7?",
                                    "model": "mnist-vae-mlp-z2"},
                  truth={"value": [0.5, -1.25], "text": "the 7s"}, key=KEY)
    q.answer(store, click.id, tokens["Cy"], [-0.5, 2])
    rows = list(csv.DictReader(io.StringIO(q.export_csv(store, klass.id, key=KEY))))
    assert [(r["student"], r["answer"], r["true_answer"]) for r in rows] == [
        ("'=HYPERLINK(1)", "-3", "14"), ("Ada", "14", "14"), ("Cy", "(-0.5, 2)", "(0.5, -1.25)")]
    assert rows[0]["prompt"] == "'=1+1 dimensions?"
    exported = q.export_csv(store, klass.id, key=KEY)
    assert not any(t in exported for t in tokens.values())
    # The answers outlive the server: a new store on the same database reads them.
    with create_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM answers")).scalar() == 3


@pytest.mark.parametrize(("raw", "says"), [
    ("not a dict", "set of fields"),
    ({"kind": "essay", "prompt": "Why?"}, "kind is one of"),
    ({"kind": "choice", "prompt": "Which?", "options": ["A"]}, "2 to 8 options"),
    ({"kind": "choice", "prompt": "Which?", "options": ["A", "a"]}, "same thing"),
    ({"kind": "choice", "prompt": "Which?", "options": "A,B"}, "list of options"),
    ({"kind": "number", "prompt": "   \u202e "}, "Type the question"),
    ({"kind": "number", "prompt": "x" * 301}, "keep it to 300"),
    ({"kind": "number", "prompt": "How many?", "answer": "many"}, "must be a number"),
    ({"kind": "number", "prompt": "How many?", "answer": "inf"}, "finite"),
    ({"kind": "click", "prompt": "Where?"}, "names the model"),
    ({"kind": "number", "prompt": "How many?", "script": "<script>"}, "no field 'script'"),
    ({"kind": "choice", "prompt": "Which?", "options": ["A", "B"], "answer": "C"},
     "Pick one of the options"),
])
def test_a_bad_question_is_refused_with_a_sentence(raw, says):
    with pytest.raises(QuestionError, match=says):
        parse_question(raw)


def test_a_question_keeps_markup_as_typed_and_round_trips():
    spec = parse_question({"kind": "choice", "prompt": "**Bold** <b>x</b>\n[a](http://x)",
                           "options": ["<img src=x>", "2"], "answer": "2"})
    assert spec.prompt == "**Bold** <b>x</b> [a](http://x)"  # one line, kept as typed
    assert parse_question(spec.to_dict()) == spec
    assert parse_answer(spec, "<img src=x>") == "<img src=x>"
    number = parse_question({"kind": "number", "prompt": "β?"})
    assert parse_answer(number, "0,5") == 0.5
    with pytest.raises(QuestionError):
        parse_answer(number, True)
    click = parse_question({"kind": "click", "prompt": "Where?", "model": "m"})
    assert parse_answer(click, ("1", 2)) == [1.0, 2.0]
    with pytest.raises(QuestionError, match="Click a point"):
        parse_answer(click, [1.0])


# -- the ready questions' true answers, from the shipped models --------------------------------


def test_the_ready_questions_true_answers_agree_with_the_shipped_models():
    from explorer.analysis.inspect_latent import holes_shares
    from explorer.classroom import truths
    from explorer.data.datasets import load_dataset
    from explorer.runs.checkpoints import load_model, read_card
    from explorer.runs.store import PRETRAINED_DIR

    assert {r.spec.truth for r in truths.READY.values()} == set(truths.TRUTHS)
    answers = {name: truths.true_answer(r.spec) for name, r in truths.READY.items()}
    # Holes: the share the CLI's `evaluate` reports (codes encoded again), model by model.
    data = load_dataset("mnist-5k")
    shares = {n: holes_shares(load_model(PRETRAINED_DIR / n)[0], data.x_test)["holes_prior"]
              for n in (truths.AE_2D, truths.VAE_2D)}
    holes = answers["holes_ae_vs_vae"]
    assert holes["value"] == ("The autoencoder (AE)" if shares[truths.AE_2D] >
                              shares[truths.VAE_2D] else "The VAE")
    assert f"{shares[truths.AE_2D]:.0%}" in holes["text"]
    # Active dimensions: the count the card recorded when the model was trained.
    card = read_card(PRETRAINED_DIR / truths.BETA4_16D)
    assert card["config"]["beta"] == 4 and card["config"]["latent_dim"] == 16
    assert answers["active_beta4"]["value"] == card["metrics"]["active_units"]
    # Where a 7 decodes: the true point lies among the 7s; a corner of the map does not.
    where = answers["where_7"]
    _, _, (x0, _, y0, _) = truths.plane(truths.VAE_2D)
    assert truths.click_hits(truths.VAE_2D, 7, [where["value"], [x0, y0]]) == [True, False]


def test_the_reveal_figures_count_the_answers_and_mark_the_truth():
    import numpy as np

    from explorer.figures import questions as figures

    fig = figures.choice_figure(["AE", "VAE", "<b>same</b>"], ["VAE", "AE", "VAE"], "AE")
    bar = fig.data[0]
    assert list(bar.y) == [1, 2, 0] and bar.x[2] == "&lt;b&gt;same&lt;/b&gt;"
    assert bar.marker.color[0] == figures.TRUE_COLOUR != bar.marker.color[1]
    fig = figures.number_figure([12, 14, 14, 16], 14)
    assert list(fig.data[0].x) == ["12", "13", "14", "15", "16"]
    assert list(fig.data[0].y) == [1, 0, 2, 0, 1]
    fig = figures.click_reveal_figure(np.zeros((4, 2)), np.array([7, 7, 1, 2]), 7, "7",
                                      (-1, 1, -1, 1), [[0.5, 0.5]], ["<i>Ada</i>"], [0, 0])
    dots = next(t for t in fig.data if t.name == figures.ANSWERS_NAME)
    assert list(dots.hovertext) == ["&lt;i&gt;Ada&lt;/i&gt;"]
