"""``python -m explorer class new "NAME"`` and ``class list``: open a class from a shell.

The teacher key comes from $EXPLORER_TEACHER_KEY; without one (and none kept yet), ``class new``
makes a key, keeps only its hash, and prints it once.
"""

from __future__ import annotations

import os

from explorer.classroom.identity import ClassError
from explorer.classroom.store import open_store


def add_parser(sub) -> None:
    c = sub.add_parser("class", help="open a class that students join by name")
    c_sub = c.add_subparsers(dest="action", required=True)
    n = c_sub.add_parser("new", help="open a class and print its join code")
    n.add_argument("name", help='the class\'s name, e.g. "Autoencoders, week 3"')
    n.add_argument("--url", default="http://localhost:8501",
                   help="the app's address, for the join link it prints")
    n.add_argument("--new-key", action="store_true",
                   help="make a new teacher key (the old one stops working)")
    c_sub.add_parser("list", help="list the classes and their codes")
    d = c_sub.add_parser("delete", help="delete a class: its roster, its runs' records and "
                         "their model folders; its running jobs are stopped")
    d.add_argument("code", help="the class's join code")
    d.add_argument("--yes", action="store_true", help="do not ask before deleting")


def join_link(base: str, code: str) -> str:
    return f"{base.rstrip('/')}/join?code={code}"


def run(args) -> int:
    env_key = os.environ.get("EXPLORER_TEACHER_KEY", "").strip() or None
    store = open_store(teacher_key=env_key)
    if args.action == "list":
        for klass in store.classes():
            state = "closed" if klass.closed else "open"
            print(f"{klass.code}  {state:6}  {klass.name}")
        return 0
    if args.action == "delete":
        return _delete(store, args, env_key)
    printed_key = None
    if env_key is None and (args.new_key or not store.gate.configured):
        printed_key = store.new_teacher_key()
    elif env_key is None:
        raise ClassError("A teacher key is already set: export EXPLORER_TEACHER_KEY with it, or "
                         "pass --new-key to make a new one.")
    key = env_key or printed_key
    klass = store.open_class(args.name, key=key, caller="cli")
    print(f"Class “{klass.name}” is open. Join code: {klass.code}")
    print(f"Students open {join_link(args.url, klass.code)} and type their name.")
    if printed_key:
        print("Teacher key (shown once; start the app with EXPLORER_TEACHER_KEY set to it, or "
              "type it on the Teacher page):")
        print(f"  {printed_key}")
    return 0


def _delete(store, args, key: str | None) -> int:
    from explorer.classroom.deletion import delete_class, summary

    klass = store.class_by_code(args.code)
    if klass is None:
        raise ClassError(f"There is no class with the code {args.code!r} (see `class list`).")
    if store.gate.configured and key is None:
        raise ClassError("Deleting a class is the teacher's: export EXPLORER_TEACHER_KEY with "
                         "the teacher key first.")
    students, runs, active = summary(store, klass.id)
    print(f"Class “{klass.name}” ({klass.code}): {students} students, {runs} runs"
          + (f", {active} of them queued or training" if active else "") + ".")
    print("Deleting it removes its roster, its runs' records and their model folders in the "
          "runs folder; runs still training are stopped (their students are told) and what they "
          "save is removed.")
    if not args.yes and input(f"Type the code {klass.code} to delete it: ").strip().upper() \
            != klass.code:
        print("Not deleted.")
        return 1
    gone = delete_class(store, klass.id, key=key, caller="cli")
    print(f"Deleted “{gone.name}”: {gone.students} students, {gone.runs} runs' records, "
          f"{gone.folders} model folders."
          + (f" {len(gone.active)} runs still training stop at their next epoch (the server "
             "stops them and removes what they save)." if gone.active else ""))
    return 0
