"""The glossary (``glossary.toml`` beside this file): a plain label -> the technical term and its
meaning. A page shows the plain label and puts the term and its meaning in the help popover."""

from __future__ import annotations

import re
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


def entry_of(label: str) -> Entry | None:
    """`label`'s entry; a label with numbers in it ("z[7]", "PCA baseline with 16 components")
    is found under its pattern, each run of digits written N ("z[N]"). None without one."""
    found = entries()
    return found.get(label) or found.get(re.sub(r"\d+", "N", label))


def help(label: str) -> str:  # noqa: A001 - it is the widgets' help= text
    """The help popover of `label`: the term in bold, then what it means. KeyError for a label
    without an entry, so a page cannot grow one unexplained."""
    entry = entry_of(label)
    if entry is None:
        raise KeyError(label)
    return f"**{entry.term[0].upper() + entry.term[1:]}**: {entry.means}"
