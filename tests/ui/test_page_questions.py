"""Predict, then reveal, on the pages (AppTest): the teacher asks the class their own question, a
student sees it on the page they are on, answers and is told it was received; the teacher sees
the count, reveals, and both see the answers beside the stated true answer. Markup in a question
shows as typed."""

import pytest
from test_page_class import class_env, join, open_class, page  # noqa: F401 - shared set-up


def widget(items, label):
    return next(w for w in items if w.label == label)


def ask_own(teacher, prompt: str, options: list[str], answer: str) -> None:
    widget(teacher.text_input, "Question").input(prompt)
    widget(teacher.text_area, "Options (multiple choice: one a line)").input("\n".join(options))
    widget(teacher.text_input,
           "Your answer (optional): an option's text, or a number").input(answer)
    widget(teacher.button, "Ask the class").click().run()
    assert not teacher.exception, [e.message for e in teacher.exception]


def texts(at) -> str:
    return " ".join(m.value for m in [*at.markdown, *at.success, *at.caption, *at.error])


@pytest.mark.usefixtures("class_env")
def test_a_question_is_asked_answered_and_revealed_on_the_pages():
    teacher, code = open_class()
    student = join(code, "Ada")
    assert "Question from your teacher" not in texts(student)  # nothing asked yet
    ask_own(teacher, "Which model leaves **more** <b>holes</b>?",
            ["The AE", "The VAE", "[a link](http://x) ![i](http://x/i.png)"], "The AE")
    assert "0 of 1" in texts(teacher)

    student.run()
    said = texts(student)
    assert r"Which model leaves \*\*more\*\* \<b\>holes\</b\>?" in said  # markup kept as text
    radio = widget(student.radio, "Your answer")
    assert radio.options[2] == r"\[a link\]\(http\://x\) \!\[i\]\(http\://x/i.png\)"  # as text
    radio.set_value("The VAE")
    widget(student.button, "Send my answer").click().run()
    assert "Answer received: The VAE" in texts(student)

    teacher.run()
    assert "1 of 1" in texts(teacher)
    widget(teacher.button, "Reveal the answers").click().run()
    assert not teacher.exception, [e.message for e in teacher.exception]
    assert "True answer: The AE" in texts(teacher)
    assert "0 of 1 chose the true answer" in texts(teacher)

    student.run()
    said = texts(student)
    assert "True answer: The AE" in said and "Your answer: **The VAE**" in said
    assert not [b for b in student.button if b.label == "Send my answer"]  # no more answers


@pytest.mark.usefixtures("class_env")
def test_a_bad_own_question_gets_a_sentence():
    teacher, _ = open_class()
    ask_own(teacher, "Pick one", ["Only one"], "")
    assert "2 to 8 options" in texts(teacher)


@pytest.mark.usefixtures("class_env")
def test_a_number_question_and_the_teachers_panel_on_another_page():
    teacher, code = open_class()
    student = join(code, "Ada")
    widget(teacher.radio, "Kind").set_value("number")
    widget(teacher.text_input, "Question").input("How many of the 16 dimensions stay active?")
    widget(teacher.text_input,
           "Your answer (optional): an option's text, or a number").input("14")
    widget(teacher.button, "Ask the class").click().run()
    student.run()
    widget(student.text_input, "Your answer (a number)").input("not a number")
    widget(student.button, "Send my answer").click().run()
    assert "must be a number" in texts(student)
    widget(student.text_input, "Your answer (a number)").input("12")
    widget(student.button, "Send my answer").click().run()
    assert "Answer received: 12" in texts(student)
    # The teacher, on another page, sees the question, its count and a Reveal button.
    teacher.switch_page("explorer/ui/pages/join.py").run()
    assert "Question to the class" in texts(teacher) and "1 of 1" in texts(teacher)
    widget(teacher.button, "Reveal the answers").click().run()
    said = texts(teacher)
    assert "True answer: 14" in said and "the class's median is 12" in said


@pytest.mark.usefixtures("class_env")
def test_a_lesson_steps_question_is_asked_from_the_lesson_bar():
    """The teacher runs a lesson with the class open: the step's question has 'Ask the class',
    and a student then sees that very question above their page."""
    from explorer.lessons import catalogue

    teacher, code = open_class()
    student = join(code, "Ada")
    teacher.switch_page("explorer/ui/pages/lessons.py").run()
    teacher.button(key="lesson_start_no-holes").click().run()
    teacher.switch_page("explorer/ui/pages/inside.py").run()  # AppTest follows its own page
    step = catalogue.lesson("no-holes").steps[0]
    assert step.question is not None
    teacher.button(key="lesson_ask_0").click().run()
    assert not teacher.exception, [e.message for e in teacher.exception]
    assert "Asked: the students see it now" in texts(teacher), [w.value for w in teacher.warning]
    student.run()
    assert step.question.prompt.split("?")[0] in texts(student)
