"""What a lesson is: a title, tags and a sequence of steps, each a page, its view, a prompt to read
aloud, a suggested time and, optionally, a question to ask the class. Plain data, no UI.

A step's view is the URL query of its page, the very parameters a shared link carries, so a step
is a curated link. Values are written the way the app's URL writes them: a model by its id
(``pretrained/<name>``), a tab or an option by its label. A page is named by its key in the app's
page table (``explorer/ui/pages/__init__.py``), which alone knows the page files.

The shipped lessons are in :mod:`explorer.lessons.catalogue`; a teacher's own travel as JSON
(:mod:`explorer.lessons.lesson_file`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAP, COMPARE, INTERPOLATE, SAMPLE, TRAIN, INSIDE, RATE_DISTORTION = (
    "map", "compare", "interpolate", "sample", "train", "inside", "rate_distortion")
DIFFUSION, GENERATORS = "diffusion", "generators"

QUESTION_KINDS = ("choice", "number", "click")  # multiple choice, a number, a click on the map
SIDEBAR_ONLY = ("present",)  # in a URL, but not part of a view: presenter mode is the room's


@dataclass(frozen=True)
class Question:
    """A question to ask the class at a step (asked and revealed by the class's question parts)."""

    kind: str  # one of QUESTION_KINDS
    prompt: str
    options: tuple[str, ...] = ()  # a multiple choice's answers, in order

    def as_dict(self) -> dict:
        found = {"kind": self.kind, "prompt": self.prompt}
        if self.kind == "choice":
            found["options"] = list(self.options)
        return found


@dataclass(frozen=True)
class Step:
    """One place in the app, and what to say there."""

    page: str  # the page's name in the page table, e.g. "interpolate"
    view: dict[str, str] = field(default_factory=dict)  # its URL query, e.g. {"interp_t": "0.3"}
    prompt: str = ""  # what the class looks at and does here, read off the projector
    minutes: float = 3.0  # suggested time at this step
    label: str = ""  # a few words naming the step in a list
    question: Question | None = None

    @property
    def model(self) -> str | None:
        return self.view.get("model")


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: str
    text: str  # two or three sentences to read before the first step
    steps: tuple[Step, ...]
    tags: tuple[str, ...] = ()
    kl_of: tuple[str, ...] = ()  # models whose total KL (from their cards) the lesson shows

    @property
    def minutes(self) -> float:
        """The suggested time of the whole lesson: its steps' times added."""
        return sum(step.minutes for step in self.steps)

    def models(self) -> list[str]:
        """The model ids its steps open, in order, each once."""
        return list(dict.fromkeys(s.model for s in self.steps if s.model))


# The settings that define a view on each page (the widget keys bound to the URL). Opening a
# step clears them first: a bound widget keeps its value across page switches, and a value equal
# to the widget's default never appears in a URL, so without a reset a "linear" step could open on
# the spherical path chosen earlier.
VIEW_KEYS: dict[str, tuple[str, ...]] = {
    MAP: ("map_view", "map_method", "map_neighbors", "map_min_dist", "map_perplexity",
          "map_colour", "map_dim", "map_find", "map_find_index", "map_find_class", "map_other",
          "plane_i", "plane_j", "plane_manifold"),
    COMPARE: ("compare_models", "compare_pca", "compare_how", "compare_n", "compare_worst",
              "compare_class", "compare_idx", "compare_seed", "compare_heat"),
    INTERPOLATE: ("interp_tab", "interp_method", "interp_t", "interp_steps", "trav_dim",
                  "trav_span", "trav_value", "grid_i", "grid_j", "grid_n", "grid_extent",
                  "grid_spacing")
                 + tuple(f"{image}{part}" for image in ("interp_a", "interp_b", "trav_image",
                                                               "arith_a")
                         for part in ("", "_how", "_class", "_k")),
    SAMPLE: ("temperature", "n_samples", "sample_seed"),
    INSIDE: ("inside_tab", "holes_compare", "holes_n", "holes_prior", "holes_data", "holes_codes",
             "holes_opacity", "holes_center", "holes_i", "holes_j", "unc_how", "unc_sigma",
             "unc_indices", "unc_k", "unc_i", "unc_j", "replay_method", "holes_stacked",
             "holes_shared"),
    TRAIN: ("train_dataset", "train_kind", "train_arch", "train_beta"),
    RATE_DISTORTION: ("rd_likelihood",),
    DIFFUSION: ("ld_prior", "ld_sampler", "ld_steps", "ld_seed", "ld_t"),
}


def query_params(step: Step) -> dict[str, str]:
    """The URL query of a step's view, e.g. {"model": "pretrained/…", "interp_t": "0.3"}."""
    return dict(step.view)


def keys_to_reset(step: Step) -> tuple[str, ...]:
    """The target page's view settings, cleared before it opens; the step's own query then sets
    the ones it names (a value equal to the default is dropped from a URL, so it must be reset).
    Only these: a step from a file must not clear anything else of the session's by naming it."""
    return VIEW_KEYS.get(step.page, ())


# -- finding a lesson ------------------------------------------------------------------------
SYNONYMS = {"β": "beta", "beta": "β", "vs": "versus", "versus": "vs", "ae": "autoencoder",
            "autoencoder": "ae", "lerp": "linear", "slerp": "spherical"}


def _words(text: str) -> list[str]:
    return re.findall(r"[\w\-β]+", text.lower())


def haystack(lesson: Lesson) -> set[str]:
    """Every word a search may find the lesson by: its title, tags, text, steps' labels, prompts
    and questions, and the usual other spellings of a few (β / beta, vs / versus, AE)."""
    parts = [lesson.title, " ".join(lesson.tags), lesson.text]
    for step in lesson.steps:
        parts += [step.label, step.prompt]
        if step.question is not None:
            parts += [step.question.prompt, *step.question.options]
    words = set(_words(" ".join(parts)))
    words |= {SYNONYMS[w] for w in words if w in SYNONYMS}
    words |= {part for w in words if "-" in w for part in w.split("-") if part}  # "16-d" -> "d"
    return words


def _found(word: str, words: set[str]) -> bool:
    """A query word matches a word of the lesson that starts with it ("autoenc", "interpolat")."""
    return word in words or (len(word) >= 3 and any(w.startswith(word) for w in words))


def search(lessons: tuple[Lesson, ...] | list[Lesson], query: str,
           tags: tuple[str, ...] | list[str] = ()) -> tuple[list[Lesson], bool]:
    """The lessons that carry any of `tags` (all, if none chosen) and match `query`: those with
    every word of it, best first; where none has them all, those with the most of them. Returns
    them and whether every word was found."""
    chosen = [item for item in lessons if not tags or set(tags) & set(item.tags)]
    words = [w for w in _words(query) if w]
    if not words:
        return chosen, True
    scored = [(sum(_found(w, haystack(item)) for w in words), n, item)
              for n, item in enumerate(chosen)]
    best = max((score for score, _, _ in scored), default=0)
    if best == 0:
        return [], False
    return [item for score, _, item in sorted(scored, key=lambda s: (-s[0], s[1]))
            if score == best], best == len(words)


def all_tags(lessons: tuple[Lesson, ...] | list[Lesson]) -> list[str]:
    """Every tag in use, in the order the lessons first use them."""
    return list(dict.fromkeys(tag for item in lessons for tag in item.tags))
