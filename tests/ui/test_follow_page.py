"""Class follows me with Streamlit's AppTest: only the teacher has the switch; with it on, the
teacher's page and URL values (not their presenter mode) are published, and a student's page is
sent to that address; a move is only ever an address of URL-safe characters."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.classroom import ClassStore, follow
from explorer.ui.parts import class_follow, class_parts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def class_env(runs, monkeypatch):
    monkeypatch.delenv("EXPLORER_DATABASE_URL", raising=False)
    monkeypatch.delenv("EXPLORER_TEACHER_KEY", raising=False)
    follow.forget_copies()
    return runs


def page(name: str, at: AppTest | None = None) -> AppTest:
    if at is None:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
    at.switch_page(f"explorer/ui/pages/{name}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def by_label(widgets, label: str):
    """The one widget of `widgets` (e.g. ``at.button``) labelled `label`."""
    (widget,) = [w for w in widgets if w.label == label]
    return widget


def scripts(at: AppTest) -> list[str]:
    """The bodies of the page's st.html elements that carry a script."""
    return [e.proto.body for e in at.main if getattr(e, "type", "") == "html"
            and "<script>" in getattr(e.proto, "body", "")]


def test_the_class_sees_the_teachers_view(class_env):
    teacher = page("teacher")
    by_label(teacher.text_input, "Class name").input("Week 3")
    by_label(teacher.button, "Open the class").click().run()
    said = [m.value for m in teacher.markdown if "Join code" in m.value]
    assert said, [e.value for e in teacher.error] or [m.value for m in teacher.markdown]
    code = said[0].split("`")[1]
    student = page("join")
    by_label(student.text_input, "Class code").input(code)
    by_label(student.text_input, "Your name").input("Ada")
    by_label(student.button, "Join").click().run()
    assert not student.exception
    assert class_follow.SWITCH not in [t.key for t in student.sidebar.toggle]  # the teacher's only
    # Nothing to follow yet: the student's browser checks every few seconds, not twice a second.
    assert student.session_state["_polling_periods"]["follow"] == class_follow.IDLE_EVERY_S

    (switch,) = [t for t in teacher.sidebar.toggle if t.key == class_follow.SWITCH]
    switch.set_value(True).run()
    teacher.query_params["present"] = "true"
    teacher.query_params["compare_n"] = "12"
    page("compare", teacher)
    store = ClassStore(f"sqlite:///{class_env / 'classroom.sqlite3'}")
    lead = follow.read(store, store.classes()[0].id)
    assert lead.active and lead.view.page == "compare"
    assert "present" not in lead.view.as_dict()  # the teacher's presenter mode stays theirs

    student.run()
    moves = [s for s in scripts(student) if "pushState" in s]  # (the other: the student's cookie)
    assert len(moves) == 1 and '"compare?' in moves[0] and "compare_n=12" in moves[0]
    assert any("Following the teacher" in c.value for c in student.caption)
    assert student.session_state["_polling_periods"]["follow"] == class_follow.EVERY_S


def test_the_names_that_say_a_session_is_in_a_class_are_class_parts_own():
    assert class_follow.IN_CLASS_KEYS == (class_parts._TOKEN, class_parts._CLASS)
    assert class_follow.COOKIE == class_parts.COOKIE


@pytest.mark.parametrize("target", ['compare?x=1"</script><script>alert(1)//', "a b", "x\n"])
def test_a_move_is_only_an_address(target):
    with pytest.raises(ValueError):
        class_follow._navigate(target, "1.1")
