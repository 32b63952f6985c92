"""A question for the class, as data: what kind of answer it takes, its prompt, its options, and
where its true answer comes from (a ready truth the app computes, or the teacher's stated answer).

The one shape every caller shares: the teacher's "Ask the class" form, the ready questions
(:mod:`explorer.analysis.truths`), and a lesson step's optional question. :func:`parse_question`
turns a dict (a lesson's JSON, a form) into a :class:`QuestionSpec` or refuses it with one
sentence; :func:`parse_answer` does the same for a student's answer. No database, no Streamlit.

A question's text is a user's text: kept as typed (control characters and extra whitespace
dropped), shown as text, never as Markdown or HTML.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from explorer.errors import ExplorerError

KINDS = ("choice", "number", "click")
PROMPT_MAX = 300
OPTION_MAX = 80
OPTIONS_MIN, OPTIONS_MAX = 2, 8
NUMBER_MAX = 1e9  # an answer beyond this is a typo, not a prediction
FIELDS = ("kind", "prompt", "options", "truth", "answer", "model")


class QuestionError(ExplorerError):
    """A question or an answer that cannot be taken; the message says why."""


@dataclass(frozen=True)
class QuestionSpec:
    """kind: "choice" (one of `options`), "number" (any number) or "click" (a point on the 2-D
    map of `model`). `truth`: the name of a ready truth the app computes (analysis/truths.py),
    or None; `answer`: the teacher's stated answer (an option's text, or a number), or None."""

    kind: str
    prompt: str
    options: tuple[str, ...] = ()
    truth: str | None = None
    answer: str | float | None = None
    model: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["options"] = list(self.options)
        return {k: v for k, v in d.items() if v not in (None, [], ())}


def _text(raw: object, limit: int, what: str) -> str:
    if not isinstance(raw, str):
        raise QuestionError(f"The {what} must be text.")
    text = " ".join(raw.split())
    text = "".join(c for c in text if c.isprintable())
    if not text:
        raise QuestionError(f"Type the {what}.")
    if len(text) > limit:
        raise QuestionError(f"The {what} is {len(text)} characters long: keep it to {limit}.")
    return text


def _number(raw: object, what: str) -> float:
    if isinstance(raw, bool):
        raise QuestionError(f"The {what} must be a number.")
    if isinstance(raw, str):
        raw = raw.strip().replace(",", ".") if raw.count(",") == 1 and "." not in raw else raw
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise QuestionError(f"The {what} must be a number, such as 4 or 0.5.") from None
    if not math.isfinite(value) or abs(value) > NUMBER_MAX:
        raise QuestionError(f"The {what} must be a finite number no larger than {NUMBER_MAX:g}.")
    return value


def parse_question(raw: object) -> QuestionSpec:
    """A question from a dict ``{"kind", "prompt", "options"?, "truth"?, "answer"?, "model"?}``,
    or a QuestionError saying what is wrong with it."""
    if isinstance(raw, QuestionSpec):
        raw = raw.to_dict()
    if not isinstance(raw, dict):
        raise QuestionError("A question is a set of fields: kind, prompt, and options for a "
                            "multiple choice.")
    unknown = sorted(str(k) for k in raw if k not in FIELDS)
    if unknown:
        raise QuestionError(f"A question has no field {unknown[0][:40]!r}; its fields are "
                            f"{', '.join(FIELDS)}.")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise QuestionError("A question's kind is one of: choice (multiple choice), number, "
                            "click (a point on the map).")
    prompt = _text(raw.get("prompt"), PROMPT_MAX, "question")
    options: tuple[str, ...] = ()
    if kind == "choice":
        given = raw.get("options")
        if not isinstance(given, list | tuple):
            raise QuestionError("A multiple choice question needs a list of options.")
        options = tuple(_text(o, OPTION_MAX, "option") for o in given)
        if not OPTIONS_MIN <= len(options) <= OPTIONS_MAX:
            raise QuestionError(f"A multiple choice question takes {OPTIONS_MIN} to "
                                f"{OPTIONS_MAX} options, not {len(options)}.")
        if len({o.casefold() for o in options}) != len(options):
            raise QuestionError("Two options say the same thing: make each one different.")
    elif raw.get("options"):
        raise QuestionError(f"A {kind} question takes no options.")
    truth = raw.get("truth")
    if truth is not None:
        truth = _text(truth, 40, "truth's name")
    model = raw.get("model")
    if model is not None:
        model = _text(model, 200, "model's name")
    if kind == "click" and model is None:
        raise QuestionError("A click question names the model whose 2-D map the class clicks on.")
    answer = raw.get("answer")
    if answer is not None and answer != "":
        if kind == "click":
            raise QuestionError("A click question's answer is computed by the app (a truth), "
                                "not stated.")
        answer = parse_answer(QuestionSpec(kind, prompt, options), answer)
    else:
        answer = None
    return QuestionSpec(kind, prompt, options, truth, answer, model)


def parse_answer(spec: QuestionSpec, raw: object) -> str | float | list[float]:
    """A student's answer to `spec`: an option's text (choice), a number, or [x, y] (click)."""
    if spec.kind == "choice":
        text = raw if isinstance(raw, str) else None
        if text is None or text not in spec.options:
            raise QuestionError("Pick one of the options.")
        return text
    if spec.kind == "number":
        return _number(raw, "answer")
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise QuestionError("Click a point on the map.")
    return [_number(v, "point's coordinate") for v in raw]
