"""The model picker's groups: *Shipped*, *Mine*, *This class* (each run under its student's
name), and *Trained here* (runs of no class one can see: trained outside a class, or copied in),
with a partial run marked ("stopped at 8 of 40 epochs", "tab closed at 8 of 40 epochs").

The picker's options stay the models' ids: Streamlit's URL binding writes an option's shown text
into the link, and a link must carry neither a student's name nor a run's state. The owner and
the mark are shown beside the list (a student list for *This class*, a line under the picker).

Plain data in, plain data out (no streamlit): the sidebar draws it, the tests read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from explorer.classroom.store import RunInfo

SHIPPED, MINE, CLASS, HERE = "Shipped", "Mine", "This class", "Trained here"
GROUPS = (SHIPPED, MINE, CLASS, HERE)


@dataclass(frozen=True)
class Choice:
    id: str  # the entry's id ("pretrained/…", "runs/…"): what the URL carries
    group: str
    mark: str  # a partial run's mark ("tab closed at 2 of 8 epochs"), else ""
    ending: str  # how the run ended, in words ("" for a shipped model)
    owner: str = ""  # the student's name in "This class"


def record_mark(record: RunInfo) -> str:
    """A partial or failed run's mark in the picker; "" for a finished one."""
    k, n = record.epoch, record.epochs
    return {"stopped": f"stopped at {k} of {n} epochs",
            "tab_closed": f"tab closed at {k} of {n} epochs",
            "failed": f"failed at {k} of {n} epochs"}.get(record.status, "")


def card_mark(card: dict) -> str:
    """The same mark for a run without a class record, from what its card says."""
    train = card.get("train") or {}
    done, planned, status = train.get("epochs_done"), train.get("epochs"), train.get("status")
    if not isinstance(done, int) or not isinstance(planned, int) or done >= planned:
        return ""
    verb = {"diverged": "diverged"}.get(status, "stopped")
    return f"{verb} at {done} of {planned} epochs"


def card_ending(card: dict) -> str:
    """How a run ended, in words, from its card (a run trained outside a class, or copied in)."""
    train = card.get("train") or {}
    done, planned, status = train.get("epochs_done"), train.get("epochs"), train.get("status")
    if not isinstance(done, int):
        return ""
    if not isinstance(planned, int) or (done >= planned and status in (None, "finished")):
        return f"finished ({done} epochs)"
    if status == "diverged":
        return f"diverged after {done} of {planned} epochs; the last good epoch's weights are kept"
    return f"stopped after {done} of {planned} epochs"


def folder_of(record: RunInfo) -> str:
    return Path(record.saved_path).name if record.saved_path else record.run_name


def choices(entries: list, records: list[RunInfo], me: int | None = None,
            teacher: bool = False) -> dict[str, list[Choice]]:
    """The picker's groups, in order, each non-empty. `records` are the runs of the class this
    person is in (a student's class, or the class the teacher has open); `me` is the student's id
    (None for the teacher, whose own runs in the class carry no student). A run the teacher hid is
    left out of another student's list; its owner and the teacher still see it."""
    by_folder = {folder_of(r): r for r in records}  # ordered by id: the newest record wins
    out: dict[str, list[Choice]] = {g: [] for g in GROUPS}
    for entry in entries:
        if entry.source == "pretrained":
            out[SHIPPED].append(Choice(entry.id, SHIPPED, "", ""))
            continue
        record = by_folder.get(Path(entry.path).name)
        if record is None:
            mark, ending = card_mark(entry.card), card_ending(entry.card)
            out[HERE].append(Choice(entry.id, HERE, mark, ending))
            continue
        mark, ending = record_mark(record), record.ending()
        mine = record.student_id == me if me is not None else teacher and not record.student_id
        if mine:
            out[MINE].append(Choice(entry.id, MINE, mark, ending))
        elif not record.hidden or teacher:
            owner = record.student or "the teacher"
            out[CLASS].append(Choice(entry.id, CLASS, mark, ending, owner))
    out[CLASS].sort(key=lambda c: c.owner.casefold())  # stable: newest first per student
    return {g: cs for g, cs in out.items() if cs}


def owners(group: list[Choice]) -> dict[str, str]:
    """This class's students, each with how many runs and partial runs they have, for the
    picker's student list: {"Bob": "Bob: 2 runs, 1 partial"}."""
    out: dict[str, list[Choice]] = {}
    for c in group:
        out.setdefault(c.owner, []).append(c)
    return {o: f"{o}: {len(cs)} run{'s' * (len(cs) != 1)}"
               + (f", {p} partial" if (p := sum(bool(c.mark) for c in cs)) else "")
            for o, cs in out.items()}
