"""The class pages with Streamlit's AppTest: the teacher opens a class (code, link, QR), a student
joins by name, a taken name gets a sentence, names show as typed, and the teacher's page asks for
the key when one is set."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.classroom import ClassStore
from explorer.errors import plain

ROOT = Path(__file__).resolve().parents[2]
KEY = "a-teacher-key-for-tests"


@pytest.fixture
def class_env(runs, monkeypatch):
    monkeypatch.delenv("EXPLORER_DATABASE_URL", raising=False)
    monkeypatch.delenv("EXPLORER_TEACHER_KEY", raising=False)
    return runs


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(f"explorer/ui/pages/{name}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def open_class(name="Week 3") -> tuple[AppTest, str]:
    at = page("teacher")
    at.text_input[0].input(name)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    code = next(m.value for m in at.markdown if "Join code" in m.value).split("`")[1]
    return at, code


def join(code: str, name: str) -> AppTest:
    at = page("join")
    at.text_input[0].input(code)
    at.text_input[1].input(name)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_teacher_opens_a_class_and_a_student_joins_by_name(class_env):
    teacher, code = open_class()
    assert len(code) == 6 and any("Scan to join" in c for i in teacher.image for c in i.captions), "a QR code is shown"
    assert any(f"/join?code={code}" in c.value for c in teacher.code)
    student = join(code, "**Ada** <img src=x>")
    said = student.success[0].value
    assert r"\*\*Ada\*\* \<img src=x\>" in said  # shown as typed, not as bold or a tag
    again = join(code.lower(), "**ada** <img src=x>")
    assert "already called" in again.error[0].value
    teacher.run()
    assert "**Ada** <img src=x>" in [t.value for t in teacher.text]
    rows = teacher.main.table[0].value
    assert list(rows.index) == ["**Ada** <img src=x>"]
    assert list(rows["State"]) == ["not training yet"]


def test_the_teacher_page_asks_for_the_key_when_one_is_set(class_env, monkeypatch):
    monkeypatch.setenv("EXPLORER_TEACHER_KEY", KEY)
    at = page("teacher")
    assert [t.label for t in at.text_input] == ["Teacher key"]
    assert not at.main.table and not at.main.image
    at.text_input[0].input("a guess")
    at.button[0].click().run()
    assert "not the teacher key" in at.error[0].value
    at.text_input[0].input(KEY)
    at.button[0].click().run()
    assert "Class name" in [t.label for t in at.text_input]
    # The key is kept in the session's server-side memory, never in the URL.
    assert KEY not in str(dict(at.query_params))


def test_a_student_sees_only_their_own_runs_to_delete(class_env):
    store = ClassStore(f"sqlite:///{class_env / 'classroom.sqlite3'}")
    klass = store.open_class("Week 3")
    bob, _ = store.join(klass.code, "Bob")
    store.update_run(store.start_run(klass.id, bob.id, "bob-run", "digits", "vae", {}, 3),
                     status="finished", epoch=3)
    at = join(klass.code, "Ada")
    assert not [b for b in at.button if b.label == "Delete"]  # Bob's run offers Ada nothing
    assert not any("bob-run" in t.value for t in at.text)


def test_the_teacher_puts_a_students_run_on_the_projector(class_env, digits_vae):
    import shutil

    _, _, path = digits_vae
    shutil.copytree(path, class_env / "ada-run")
    store = ClassStore(f"sqlite:///{class_env / 'classroom.sqlite3'}")
    klass = store.open_class("Week 3")
    ada, _ = store.join(klass.code, "Ada")
    record = store.start_run(klass.id, ada.id, "ada-run", "digits", "vae", {}, 8)
    store.update_run(record, status="finished", epoch=8, saved_path=str(class_env / "ada-run"))
    at = page("teacher")
    assert at.selectbox(key="class_show_run").value == record
    at.selectbox(key="class_show_page").set_value("compare").run()
    next(b for b in at.button if b.label == "Show").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["model"] == "runs/ada-run"
    assert at.title[0].value == "Reconstructions"
    assert any(r"Trained by Ada in Week 3: finished \(8 epochs\)" in c.value
               for c in at.sidebar.caption), [c.value for c in at.sidebar.caption]


def test_a_students_picker_groups_shipped_mine_and_this_class_by_name(class_env, digits_vae):
    """Ada sees her run under Mine, Bob's under This class with his name and the tab that
    closed after 2 of 8 epochs; the model card says how Bob's run ended, in words."""
    import shutil

    _, _, path = digits_vae
    store = ClassStore(f"sqlite:///{class_env / 'classroom.sqlite3'}")
    klass = store.open_class("Week 3")
    bob, _ = store.join(klass.code, "Bob")
    for folder in ("ada-run", "bob-run", "copied-in"):
        shutil.copytree(path, class_env / folder)
    at = join(klass.code, "Ada")
    ada = store.roster(klass.id)[-1]
    store.update_run(store.start_run(klass.id, ada.id, "ada-run", "digits", "vae", {}, 8),
                     status="finished", epoch=8, saved_path=str(class_env / "ada-run"))
    store.update_run(store.start_run(klass.id, bob.id, "bob-run", "digits", "vae", {}, 8),
                     status="tab_closed", epoch=2, saved_path=str(class_env / "bob-run"))
    at.switch_page("explorer/ui/pages/compare.py").run()
    group = at.sidebar.segmented_control(key="model_group")
    assert group.options == ["Shipped", "Mine", "This class", "Trained here"]
    group.set_value("Mine").run()
    assert at.sidebar.selectbox(key="model").options == ["runs/ada-run"]
    at.sidebar.segmented_control(key="model_group").set_value("This class").run()
    students = at.sidebar.selectbox(key="model_student")
    assert students.options == ["Bob: 1 run, 1 partial"]
    assert at.sidebar.selectbox(key="model").options == ["runs/bob-run"]
    assert at.session_state["model"] == "runs/bob-run"
    assert not at.exception, [e.message for e in at.exception]
    said = [c.value for c in at.sidebar.caption]
    assert "Partial run: tab closed at 2 of 8 epochs." in " ".join(said), said
    at.switch_page("explorer/ui/pages/rate_distortion.py").run()  # Bob's and Ada's runs: named
    assert not at.exception, [e.message for e in at.exception]
    import json

    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    named = {t["name"]: t for t in traces if t.get("customdata")}
    assert list(named["you"]["customdata"]) == ["runs/ada-run"]
    assert "lines" not in named["you"]["mode"]
    assert "lines" not in named["the model you explore"]["mode"]
    assert named["the model you explore"]["customdata"] == ["runs/bob-run"]
    assert named["the model you explore"]["text"] == ["Bob"]
    card = at.sidebar.table[0].value
    ended = dict(zip(card["field"], card["value"], strict=True))["how it ended"]
    assert ended == "stopped because the tab closed, after 2 of 8 epochs"
    at.sidebar.segmented_control(key="model_group").set_value("Trained here").run()
    assert at.sidebar.selectbox(key="model").options == ["runs/copied-in"]
    # A link to Bob's run opens it, in its group, whatever group was shown before.
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    fresh.query_params["model"] = "runs/bob-run"
    fresh.run()
    assert not fresh.exception, [e.message for e in fresh.exception]
    assert fresh.session_state["model"] == "runs/bob-run"


def test_the_teacher_deletes_a_class_after_typing_its_code(class_env):
    teacher, code = open_class("Week 3")
    join(code, "Ada")
    teacher.run()
    button = teacher.button(key="class_delete")
    assert button.disabled  # nothing is deleted before the code is typed
    teacher.text_input(key="class_delete_code").input(code.lower()).run()
    teacher.button(key="class_delete").click().run()
    assert not teacher.exception, [e.message for e in teacher.exception]
    said = plain("Deleted “Week 3”: 1 students, 0 runs, 0 model folders.")  # shown as text
    assert said in [s.value for s in teacher.success]
    store = ClassStore(f"sqlite:///{class_env / 'classroom.sqlite3'}")
    assert store.class_by_code(code) is None


def test_a_student_may_not_add_a_dataset_or_a_shared_model_unless_allowed(class_env, monkeypatch):
    monkeypatch.setenv("EXPLORER_TEACHER_KEY", KEY)
    store = ClassStore(f"sqlite:///{class_env / 'classroom.sqlite3'}", teacher_key=KEY)
    klass = store.open_class("Week 3", key=KEY)
    at = join(klass.code, "Ada")
    at.switch_page("explorer/ui/pages/train.py").run()
    said = " ".join(c.value for c in at.sidebar.caption)
    assert "Only the teacher may add datasets" in said
    assert "Only the teacher may add shared models" in said
    assert not [u for u in at.get("file_uploader")]  # no uploader to use
    from explorer.classroom import powers

    powers.allow_students(store, True, key=KEY)
    at.run()
    assert len(at.get("file_uploader")) == 2  # a dataset and a shared model
