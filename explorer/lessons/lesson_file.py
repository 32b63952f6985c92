"""A lesson as a small JSON file a teacher saves, shares and imports; never pickle, never code.

:func:`to_json` writes one; :func:`read` checks one that anybody may have written. A file too
large, not JSON, without steps or of the wrong shape is refused with one sentence
(:class:`LessonFileError`); a part that is wrong on its own (an unknown key, a step on a page the
app does not have, a question of the wrong shape, a time out of range) is dropped, and a sentence
says so. The text it carries stays data: the pages show titles, prompts and questions as text
(:mod:`explorer.usertext`), never as Markdown or HTML.

The format::

    {"format": "latent-explorer-lesson", "version": 1, "title": "…", "tags": ["β"], "text": "…",
     "steps": [{"page": "interpolate", "view": {"model": "pretrained/…", "interp_t": "0.3"},
                "prompt": "…", "minutes": 3, "label": "…",
                "question": {"kind": "choice", "prompt": "…", "options": ["A", "B"]}}]}
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable

from explorer.errors import ExplorerError, plain
from explorer.lessons.steps import QUESTION_KINDS, SIDEBAR_ONLY, Lesson, Question, Step

FORMAT, VERSION = "latent-explorer-lesson", 1
MAX_BYTES = 256 * 1024
MAX_STEPS = 100
MAX_TITLE, MAX_TEXT, MAX_PROMPT, MAX_LABEL = 120, 2000, 1000, 60
MAX_TAGS, MAX_TAG = 12, 30
MAX_VIEW_KEYS, MAX_VALUE = 40, 500
MAX_OPTIONS, MAX_OPTION = 8, 120
MAX_MINUTES = 60
DEFAULT_MINUTES = 3.0
TOP_KEYS = {"format", "version", "title", "tags", "text", "steps", "slug"}
STEP_KEYS = {"page", "view", "prompt", "minutes", "label", "question"}
QUESTION_KEYS = {"kind", "prompt", "options"}
PARAM_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")  # how the app names a URL parameter


class LessonFileError(ExplorerError):
    """A lesson file that cannot be imported; the message says why in one sentence."""


def to_dict(lesson: Lesson) -> dict:
    steps = []
    for step in lesson.steps:
        entry = {"page": step.page, "view": dict(step.view), "prompt": step.prompt,
                 "minutes": step.minutes, "label": step.label}
        if step.question is not None:
            entry["question"] = step.question.as_dict()
        steps.append(entry)
    return {"format": FORMAT, "version": VERSION, "slug": lesson.slug, "title": lesson.title,
            "tags": list(lesson.tags), "text": lesson.text, "steps": steps}


def to_json(lesson: Lesson) -> bytes:
    """The lesson as the bytes of a ``.json`` file (UTF-8, indented: a teacher may read it)."""
    return json.dumps(to_dict(lesson), ensure_ascii=False, indent=1).encode("utf-8")


def slug_of(title: str) -> str:
    """A file and key name from a title: lower-case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "lesson"


def _text(value, limit: int, what: str, notes: list[str], default: str = "") -> str:
    """A string field: kept (cut at `limit` characters, saying so), else `default`, saying so."""
    if value is None:
        return default
    if not isinstance(value, str):
        notes.append(f"{what} is not text, so it was left out.")
        return default
    value = "".join(c for c in value if c.isprintable() or c in "\n\t").strip()
    if len(value) > limit:
        notes.append(f"{what} was longer than {limit} characters and was cut.")
        value = value[:limit]
    return value


def _unknown(found: Iterable[str], known: set[str], where: str, notes: list[str]) -> None:
    extra = sorted(str(k) for k in found if k not in known)
    if extra:
        notes.append(f"{where} had keys this app does not know ("
                     + ", ".join(plain(k, 30) for k in extra[:5])
                     + (", …" if len(extra) > 5 else "") + "); they were ignored.")


def _view(raw, where: str, notes: list[str]) -> dict[str, str]:
    """A step's URL query: parameter names as the app writes them, values as text. A value the
    page's widget would refuse is dropped later, by the one URL check every link goes through."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        notes.append(f"{where}'s view is not a set of named values, so the page opens as it is.")
        return {}
    view, bad = {}, []
    for key, value in list(raw.items())[:MAX_VIEW_KEYS]:
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float) and math.isfinite(value):
            value = f"{value:g}" if isinstance(value, float) else str(value)
        if (not isinstance(key, str) or not PARAM_NAME.fullmatch(key) or key in SIDEBAR_ONLY
                or not isinstance(value, str) or len(value) > MAX_VALUE):
            bad.append(str(key))
            continue
        view[key] = value
    if len(raw) > MAX_VIEW_KEYS:
        notes.append(f"{where}'s view had more than {MAX_VIEW_KEYS} settings; the rest were "
                     "ignored.")
    if bad:
        notes.append(f"{where}'s view had settings this app cannot use ("
                     + ", ".join(plain(k, 30) for k in bad[:5]) + "); they were ignored.")
    return view


def _question(raw, where: str, notes: list[str]) -> Question | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        notes.append(f"{where}'s question is not a question (kind, prompt, options); it was "
                     "left out.")
        return None
    _unknown(raw, QUESTION_KEYS, f"{where}'s question", notes)
    kind, prompt = raw.get("kind"), raw.get("prompt")
    if kind not in QUESTION_KINDS or not isinstance(prompt, str) or not prompt.strip():
        notes.append(f"{where}'s question needs a kind ({', '.join(QUESTION_KINDS)}) and a "
                     "prompt; it was left out.")
        return None
    options: tuple[str, ...] = ()
    if kind == "choice":
        raw_options = raw.get("options")
        if (not isinstance(raw_options, list) or not 2 <= len(raw_options) <= MAX_OPTIONS
                or not all(isinstance(o, str) and o.strip() for o in raw_options)):
            notes.append(f"{where}'s multiple-choice question needs 2 to {MAX_OPTIONS} answers, "
                         "each text; it was left out.")
            return None
        options = tuple(o.strip()[:MAX_OPTION] for o in raw_options)
    elif raw.get("options") is not None:
        notes.append(f"{where}'s question is a {kind} question, so its options were ignored.")
    return Question(kind, _text(prompt, MAX_PROMPT, f"{where}'s question", notes), options)


def _minutes(raw, where: str, notes: list[str]) -> float:
    if raw is None:
        return DEFAULT_MINUTES
    if (isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw)
            or not 0 < raw <= MAX_MINUTES):
        notes.append(f"{where}'s time is not a number of minutes from 0 to {MAX_MINUTES}; it "
                     f"was set to {DEFAULT_MINUTES:g}.")
        return DEFAULT_MINUTES
    return float(raw)


def _step(raw, n: int, pages: set[str], notes: list[str]) -> Step | None:
    where = f"Step {n}"
    if not isinstance(raw, dict):
        notes.append(f"{where} is not a step (a page, its view and a prompt); it was left out.")
        return None
    _unknown(raw, STEP_KEYS, where, notes)
    page = raw.get("page")
    if not isinstance(page, str) or page not in pages:
        notes.append(f"{where} opens a page this app does not have ({plain(page, 40)}); it was "
                     "left out.")
        return None
    return Step(page=page, view=_view(raw.get("view"), where, notes),
                prompt=_text(raw.get("prompt"), MAX_PROMPT, f"{where}'s prompt", notes),
                minutes=_minutes(raw.get("minutes"), where, notes),
                label=_text(raw.get("label"), MAX_LABEL, f"{where}'s label", notes),
                question=_question(raw.get("question"), where, notes))


def read(data: bytes, pages: Iterable[str]) -> tuple[Lesson, list[str]]:
    """A lesson from the bytes of an uploaded file, checked against the app's `pages`; and a
    sentence for each part that was dropped. Raises :class:`LessonFileError` when nothing usable
    is there."""
    if len(data) > MAX_BYTES:
        raise LessonFileError(f"This file is {len(data) / 1024:,.0f} KB; a lesson file is at most "
                              f"{MAX_BYTES // 1024} KB.")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise LessonFileError("This file is not a lesson: it is not JSON text. Save a lesson "
                              "from the Lessons page and import that file.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise LessonFileError("This JSON file is not a lesson saved by Latent Explorer (it has "
                              f"no \"format\": \"{FORMAT}\").")
    if document.get("version") != VERSION:
        raise LessonFileError(f"This lesson file has version {plain(document.get('version'), 20)}"
                              f"; this app reads version {VERSION}.")
    notes: list[str] = []
    _unknown(document, TOP_KEYS, "The file", notes)
    title = _text(document.get("title"), MAX_TITLE, "The title", notes)
    if not title:
        raise LessonFileError("This lesson has no title (a line of text); add one and import it "
                              "again.")
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise LessonFileError("This lesson has no steps (a list of pages, views and prompts).")
    if len(raw_steps) > MAX_STEPS:
        raise LessonFileError(f"This lesson has {len(raw_steps):,} steps; a lesson has at most "
                              f"{MAX_STEPS}.")
    known = set(pages)
    steps = tuple(s for n, raw in enumerate(raw_steps, 1)
                  if (s := _step(raw, n, known, notes)) is not None)
    if not steps:
        raise LessonFileError("None of this lesson's steps opens a page this app has, so there "
                              "is nothing to show.")
    tags = document.get("tags")
    if tags is not None and not isinstance(tags, list):
        notes.append("The tags are not a list of words; they were left out.")
        tags = []
    kept = [t.strip() for t in tags or () if isinstance(t, str) and 0 < len(t.strip()) <= MAX_TAG]
    if len(kept) < len(tags or ()) or len(kept) > MAX_TAGS:
        notes.append(f"Tags must be text of up to {MAX_TAG} characters, at most {MAX_TAGS}; the "
                     "others were left out.")
    lesson = Lesson(slug="mine-" + slug_of(title), title=title,
                    text=_text(document.get("text"), MAX_TEXT, "The text", notes),
                    steps=steps, tags=tuple(dict.fromkeys(kept[:MAX_TAGS])))
    return lesson, notes
