"""Share this view: the current view's link (page, model and every setting on screen, see
:func:`explorer.ui.parts.url_values.view_of_session`) to copy, and as a QR code for a room to
scan. In the sidebar; in presenter mode, where the sidebar starts folded, at the top of the page.

The link is read before the page runs and again once it has (a page writes some of its view
into the URL as it draws: the map's selection, the plane's point), so it is the view on screen.
"""

from __future__ import annotations

import io

import segno
import streamlit as st

from explorer.ui import pages
from explorer.ui.parts import url_values

QR_PX = 300  # the code's width: big enough to scan from the back of a room


def qr_png(link: str) -> bytes | None:
    """A PNG of `link` as a QR code; None when it is too long for one."""
    try:
        code = segno.make(link, error="m")
    except segno.DataOverflowError:
        return None
    png = io.BytesIO()
    code.save(png, kind="png", scale=8, border=2)
    return png.getvalue()


def place():
    """Draw the "Share this view" control with the view as it stands; returns the function that
    draws it again, in the same place, once the page has run (when the page changed its view
    as it drew; a page that stops early keeps the first)."""
    where = st.container(horizontal=True, horizontal_alignment="right") if pages.presenting() \
        else st.sidebar
    slot = where.empty()
    drawn: list[str] = []

    def fill() -> None:
        page, params = url_values.view_of_session()
        link = url_values.link_of(page, params)
        if drawn and drawn[-1] == link:
            return
        drawn.append(link)
        with slot.container(), st.popover("Share this view", icon=":material/share:"):
            st.caption("This view's link (page, model and settings; never who you are). "
                       "Copy it with the button at its right:")
            st.code(link, language=None, wrap_lines=True)
            png = qr_png(link)
            if png is None:
                st.caption("This link is too long for a QR code: send it instead.")
            else:
                st.image(png, width=QR_PX, caption="Scan to open this view")

    fill()
    return fill
