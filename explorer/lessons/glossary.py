"""The glossary (``glossary.toml`` beside this file): a plain label -> the technical term and its
meaning. A page shows the plain label and puts the term and its meaning in the help popover."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FILE = Path(__file__).with_name("glossary.toml")


@dataclass(frozen=True)
class Entry:
    term: str
    means: str


@cache
def entries() -> dict[str, Entry]:
    with open(FILE, "rb") as f:
        return {label: Entry(**fields) for label, fields in tomllib.load(f).items()}


def help(label: str) -> str:  # noqa: A001 - it is the widgets' help= text
    """The help popover of `label`: the term in bold, then what it means. KeyError for a label
    without an entry, so a page cannot grow one unexplained."""
    entry = entries()[label]
    return f"**{entry.term[0].upper() + entry.term[1:]}**: {entry.means}"
