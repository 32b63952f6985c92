"""A table of generator scores, in words: computed from the numbers, so the words never
contradict them, and claiming a difference only beyond the spread across sampling seeds
(:func:`explorer.analysis.scores.score_spread`)."""

from __future__ import annotations

import numpy as np

from explorer import families
from explorer.analysis.scores import SHOWN_DECIMALS
from explorer.errors import ConfigError


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _apart(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Two (mean, sd) scores differ: their means, at the shown decimals, are further apart than
    the sum of their spreads (a rough bar, but one a seed's move does not cross)."""
    return round(abs(a[0] - b[0]), SHOWN_DECIMALS) > a[1] + b[1]


def _ranked(value: str, lo: int, hi: int, of: int) -> str:
    place = _ordinal(lo) if lo == hi else f"{_ordinal(lo)} to {_ordinal(hi)}"
    return f"{place} of {of} on {value}"


def _shown(mean_sd: tuple[float, float]) -> str:
    mean, sd = mean_sd
    return f"{mean:.{SHOWN_DECIMALS}f}" + (f" ± {sd:.{SHOWN_DECIMALS}f}" if sd else "")


def _ranked_family(kind: str):
    """The family of `kind` when its models are ranked in words (explorer.families.base), else
    None (an unknown kind included: a row is only words then, never an error)."""
    try:
        family = families.get(kind)
    except ConfigError:
        return None
    return family if family.ranked_in_words else None


def table_in_words(table: dict[str, dict], kinds: dict[str, str]) -> str:
    """What a table of scores shows, computed from it, so the words never contradict the numbers:
    which model has the highest precision and which the highest recall, and where each model of a
    family ranked in words (a GAN: the literature calls its samples sharp but short of modes)
    ranks on both. A difference is claimed only beyond the spread across sampling seeds (`<key>_sd`,
    see :func:`_apart`): models the spread cannot tell apart share a place. `table` maps a row's
    name to its scores; `kinds` maps each model's name to its family ("vae", "gan", ...): rows it
    does not name (the real images' reference) are not ranked."""
    rows = {n: s for n, s in table.items() if n in kinds}
    shown = {key: {n: (float(s[key]), float(s.get(f"{key}_sd") or 0.0)) for n, s in rows.items()
                   if isinstance(s.get(key), int | float) and np.isfinite(s[key])}
             for key in ("precision", "recall")}
    parts = []
    for key, values in shown.items():
        if values:
            top = max(values, key=lambda n: values[n][0])
            best = [n for n in values if not _apart(values[n], values[top])]
            parts.append(f"the highest {key} is {top}'s ({_shown(values[top])})" if len(best) == 1
                         else f"{_names(best)} share the highest {key} "
                              + ("within their spread" if any(values[n][1] for n in best)
                                 else "at the shown decimals")
                              + f" ({top}: {_shown(values[top])})")
    if not parts:
        return ""
    sentence = "On this table, " + " and ".join(parts) + "."
    for name in rows:
        if (family := _ranked_family(kinds[name])) is None:
            continue
        ranks = []
        for key, values in shown.items():
            if name in values:
                above = sum(v[0] > values[name][0] and _apart(v, values[name])
                            for v in values.values())
                near = sum(not _apart(v, values[name]) for v in values.values())
                ranks.append(_ranked(f"{key} ({_shown(values[name])})", above + 1, above + near,
                                     len(values)))
        if ranks:
            sentence += f" The {family.label} {name} ranks {' and '.join(ranks)}."
    if any(sd for values in shown.values() for _, sd in values.values()):
        sentence += (" ± is the standard deviation over the sampling seeds; two models are "
                     "ranked apart only when their means differ by more than their two spreads "
                     "together.")
    return sentence
