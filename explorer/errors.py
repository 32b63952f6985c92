"""Errors a user can act on. Each carries one sentence meant to be shown as it is, no traceback;
:func:`plain` makes text from files safe to quote in such a sentence."""

import re


class ExplorerError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class DatasetError(ExplorerError):
    """A dataset is missing, corrupted or could not be downloaded."""


class ModelFileError(ExplorerError):
    """A model file or its card is missing, malformed or does not match."""


class ConfigError(ExplorerError):
    """A setting is out of range or of the wrong kind."""


def plain(text: object, limit: int = 200) -> str:
    """`text` from a file or a user, made safe to quote in a message shown as Markdown: one line,
    at most `limit` characters, Markdown's and HTML's special characters escaped so a name like
    ``[x](http://…)`` or ``<img>`` shows as typed instead of turning into a link or a tag."""
    text = " ".join(str(text).split())  # newlines and control whitespace would start new blocks
    text = "".join(c for c in text if c.isprintable())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = re.sub(r"([\\`*\[\]()!|<>~$&:])", r"\\\1", text)  # links, tags, emphasis, math
    # '_' emphasises only at a word's edge: snake_case and F8_E5M2 stay as they are.
    text = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)
    # Only what would start a block: "1. " a numbered list, "# " a heading, "- " or "+ " a list
    # ("#5 · 7" and "-x" are plain text to Markdown already), ">" a quote wherever it stands first.
    text = re.sub(r"^(\d+)([.)])(?=\s|$)", r"\1\\\2", text)
    text = re.sub(r"^([#+=-])(?=\s|$|-)", r"\\\1", text)
    return re.sub(r"^>", r"\\>", text)
