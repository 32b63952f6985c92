"""Class follows me: the teacher's switch, and every following student's page kept on the
teacher's view.

The teacher's view is the page and the same URL parameters a shared link of it carries (never a
student's identity or the teacher key: those are never in a URL; presenter mode stays each
viewer's own). While the switch is on, the teacher's session publishes that view whenever it
changes (explorer/classroom/follow.py: one row per class, a version number).

A student's page holds one small fragment that reruns every ``EVERY_S`` (``IDLE_EVERY_S`` while
there is nothing to follow) and reads only the class's version number, from the server process's
copy (no database read, no page rerun); the same fragment draws the class's live question. When
the number moves, it takes the student's browser to the teacher's address the way the browser's
Back button does (a history entry, then ``popstate``): Streamlit reruns the page with that URL
winning over every URL-bound widget's old value, which is what a fresh link does.
(``st.switch_page`` may not write the URL-bound sidebar values, and a rerun on the same page keeps
each widget's own value over the URL: neither can show a view that differs only in a slider.)

Any change of the student's own (another page, a widget, Back) while following is stepping away:
a banner says so, and "Back to the teacher" returns to the teacher's current view.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import streamlit as st

from explorer.ui.pages import PAGES
from explorer.ui.parts import polling

if TYPE_CHECKING:  # the class store (SQLAlchemy) is imported only in a class, not at start-up
    from explorer import classroom

EVERY_S = float(os.environ.get("EXPLORER_FOLLOW_EVERY_S", "0.5"))  # a follower's check
# A student's check while there is nothing to follow (the switch off, or stepped away): every
# rerun of a fragment costs the student's browser tens of milliseconds of redrawing, and a class
# of thirty checking twice a second kept a two-core server's browsers busy with nothing to show.
IDLE_EVERY_S = 3.0
RESEND_S = 4.0  # a move that has not arrived by then is sent again
NOT_SHARED = ("teacher", "join")  # the teacher's own pages: the class stays on the last view
SWITCH = "_follow_lead"  # the teacher's "Class follows me" toggle
_PAGE = "_follow_page"  # the page key of this session's last full run
_FULL = "_follow_full_run"  # set by a full run, taken by the follower's fragment
_LEADING = "_follow_leading"  # teacher, switch on: (the store, the class id)
_SENT = "_follow_sent"  # teacher: the last state published, (class id, active, view)
_STATE = "_follow_state"  # follower: what was seen, where it went, whether it stepped away
_BY_PATH = {spec.url_path or "": name for name, spec in PAGES.items()}
# What tells that a session is in a class, asked before importing the class store: a student's
# token (the session's, or the cookie a browser sends) or a class the teacher opened. The names
# are class_parts' own (tests/ui/test_follow_page.py holds them equal).
IN_CLASS_KEYS = ("_class_token", "_class_id")
COOKIE = "explorer_student"


def in_class() -> bool:
    return any(st.session_state.get(k) for k in IN_CLASS_KEYS) \
        or bool(st.context.cookies.get(COOKIE))


def current_view(page: str | None) -> classroom.View:
    """This session's view: its page and what a shared link of it carries
    (``url_values.view_of_session()``: the model always; never identity, teacher key, class code
    or presenter mode)."""
    from explorer import classroom
    from explorer.ui.parts import url_values

    name, params = url_values.view_of_session()
    if page and page != name:  # asked for another page than the one this run recorded
        params = url_values.link_params(page, {k: st.query_params.get_all(k)
                                               for k in st.query_params})
    return classroom.View.of(page or name, params)


def bar(url_path: str) -> bool:
    """app.py, once the sidebar is drawn, before the page: in a class, the teacher's switch (in
    the sidebar) or a student's follow bar and the class's live question (above the page).
    Outside a class, nothing at all. True when it drew a student's look (the question in it)."""
    st.session_state[_PAGE] = _BY_PATH.get(url_path or "", "")
    if not in_class():
        return False  # one person on their own: nothing to follow or lead
    from explorer.ui.parts import class_parts

    store = class_parts._quiet_store()
    if store is None:
        return False
    student = class_parts.current_student(store)
    if student is not None:
        st.session_state[_FULL] = True
        polling.fragment("follow", _check_every(store, student.class_id), _student_look, store,
                         student.class_id)
        return True
    klass = class_parts.chosen_class(store)
    if klass is not None and class_parts.is_teacher(store):
        with st.sidebar:  # the switch reruns it; while on, it looks for a change every EVERY_S
            polling.fragment("lead", EVERY_S if st.session_state.get(SWITCH) else None,
                             _leader, store, klass.id)


# -- the teacher -------------------------------------------------------------------------------
def _leader(store, class_id: int) -> None:
    """The switch, and the publishing of this session's view while it is on (at every run, and
    every EVERY_S for a change made inside another fragment)."""
    on = st.toggle("Class follows me", key=SWITCH,
                   help="Every student in the class sees the page and view you show, as you "
                        "change it; a student may step away to explore, then come back.")
    st.session_state[_LEADING] = (store, class_id) if on else None
    polling.keep("lead", EVERY_S if on else None)
    sent = st.session_state.get(_SENT)
    if not on:
        if sent is not None and sent[1]:  # just switched off
            _publish(store, class_id, None, active=False)
        return
    if _publish_view(store, class_id):
        st.caption(":material/co_present: The class follows this view.")
    else:
        st.caption("The class stays on the last view you showed (this page is yours only).")


def after_page() -> None:
    """app.py, once the page is drawn: a value the page itself put in the URL reaches the class
    now, not at the switch's next check."""
    if leading := st.session_state.get(_LEADING):
        _publish_view(*leading)


def _publish_view(store, class_id: int) -> bool:
    """Publish this session's view if it changed; False on a page that is not shared."""
    page = st.session_state.get(_PAGE, "")
    if page in NOT_SHARED:
        return False
    view = current_view(page)
    if st.session_state.get(_SENT) != (class_id, True, view):
        _publish(store, class_id, view, active=True)
    return True


def _publish(store, class_id: int, view: classroom.View | None, active: bool) -> None:
    from explorer import classroom
    from explorer.classroom import ClassError
    from explorer.ui.parts import class_parts

    try:
        classroom.publish_view(store, class_id, view, key=class_parts.teacher_key(),
                       caller=class_parts.caller(), active=active)
    except ClassError as e:
        st.warning(str(e), icon=":material/co_present:")
        st.session_state[_SENT] = None  # try again at the next run
        return
    st.session_state[_SENT] = (class_id, active, view)


# -- a student ---------------------------------------------------------------------------------
def _following(lead: classroom.Lead | None) -> bool:
    return lead is not None and lead.active and lead.view.page in PAGES


def _check_every(store, class_id: int) -> float:
    """EVERY_S while the class follows the teacher and this student has not stepped away, else
    IDLE_EVERY_S."""
    from explorer import classroom

    away = st.session_state.get(_STATE, {}).get("away", False)
    return EVERY_S if _following(classroom.latest_lead(store, class_id)) and not away \
        else IDLE_EVERY_S


def _student_look(store, class_id: int) -> None:
    """A student's one timed look: the teacher's view to follow, then the class's live question.
    One fragment for both: each rerun costs the student's browser a redraw of the page, and two
    fragments (every 3 s and every 2.5 s) were twice the redraws for the same news."""
    from explorer.ui.parts import class_questions

    _follower(store, class_id)
    class_questions.student_question(store, class_id)


def _follower(store, class_id: int) -> None:
    from explorer import classroom

    full = st.session_state.pop(_FULL, False)
    # The teacher switched following on or off, or the student stepped away or came back.
    polling.keep("follow", _check_every(store, class_id))
    state = st.session_state.setdefault(_STATE, {"seen": None, "base": None, "landed": False,
                                                 "away": False, "sent": 0.0, "tries": 0})
    lead = classroom.latest_lead(store, class_id)
    if not _following(lead):
        state.update(seen=None, base=None, away=False)
        return
    here = current_view(st.session_state.get(_PAGE))
    if state["away"]:
        _away_banner()
        return
    if state["seen"] == lead.version:
        if here == lead.view:
            state["base"] = here  # arrived (or the student came back by hand)
        elif state["base"] is not None:
            state["away"] = True  # the student's own page or widget change
            _away_banner()
            return
        elif full and here.page == lead.view.page:
            state["landed"] = True  # the page is drawing the teacher's address
        elif state["landed"] and not full:
            state["base"] = here  # the page corrected a value of the address: its own view
        elif time.monotonic() - state["sent"] > RESEND_S:
            _go(lead, state)
        st.caption(":material/co_present: Following the teacher.")
        return
    state.update(seen=lead.version, base=None, landed=False, tries=0)
    if here == lead.view:
        state["base"] = here
    else:
        _go(lead, state)
    st.caption(":material/co_present: Following the teacher.")


def _away_banner() -> None:
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.info("You stepped away from the teacher's view to explore.", icon=":material/explore:")
    right.button("Back to the teacher", on_click=_back, icon=":material/co_present:",
                 key="follow_back", type="primary")


def _back() -> None:
    state = st.session_state.get(_STATE)
    if state is not None:
        state.update(seen=None, base=None, away=False)


def _go(lead: classroom.Lead, state: dict) -> None:
    """Take this browser to the teacher's view, keeping its own presenter mode."""
    params = lead.view.as_dict()
    if present := st.query_params.get("present"):
        params["present"] = [present]
    path = PAGES[lead.view.page].url_path or ""
    query = urlencode(params, doseq=True)
    state["sent"], state["tries"] = time.monotonic(), state["tries"] + 1
    _navigate(path + (f"?{query}" if query else ""), f"{lead.version}.{state['tries']}")


def _navigate(target: str, stamp: str) -> None:
    """A history entry for `target` (a page path and an encoded query, relative to the app's
    folder), then ``popstate``: the browser's own Back/Forward, which Streamlit answers by
    rerunning that page with the URL's values. The one script here built from values: both are
    checked to be an address of URL-safe characters and a version stamp, and JSON-quoted."""
    if not re.fullmatch(r"[A-Za-z0-9_.~%&=+-]*(\?[A-Za-z0-9_.~%&=+-]*)?", target) \
            or not re.fullmatch(r"[0-9.]{1,40}", stamp):
        raise ValueError("a follow move holds a page and its encoded query, nothing else")
    st.html(f"<script>/* {stamp} */ (() => {{ const p = window.location.pathname; "
            f"const url = p.slice(0, p.lastIndexOf('/') + 1) + {json.dumps(target)}; "
            "if (p + window.location.search === url) return; "
            "window.history.pushState(null, '', url); "
            "window.dispatchEvent(new PopStateEvent('popstate')); })();</script>",
            unsafe_allow_javascript=True)
