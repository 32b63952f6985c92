"""Share this view: the current view's link (page, model and every setting on screen, see
:func:`explorer.ui.parts.url_values.view_of_session`) to copy, and as a QR code for a room to
scan. In the sidebar; in presenter mode, where the sidebar starts folded, at the top of the page.

The link and the QR code are made only while the control is open (see :func:`place`).
"""

from __future__ import annotations

import io

import segno
import streamlit as st

from explorer.ui import pages
from explorer.ui.parts import url_values

KEY = "share_view"  # the popover's key: True while it is open
QR_PX = 300  # the code's width: big enough to scan from the back of a room
TOP_CSS = ("<style>.st-key-share_view_top{position:fixed;top:0.55rem;right:4.5rem;"
           "z-index:999991;width:auto!important}</style>")


def qr_png(link: str) -> bytes | None:
    """A PNG of `link` as a QR code; None when it is too long for one."""
    try:
        code = segno.make(link, error="m")
    except segno.DataOverflowError:
        return None
    png = io.BytesIO()
    code.save(png, kind="png", scale=8, border=2)
    return png.getvalue()


def place() -> None:
    """The "Share this view" control. Its link and QR code are made only while it is open:
    opening it reruns the app, whose URL then holds everything the page wrote into it as it
    drew (the map's selection, the plane's point), so the link is the view on screen; and a
    page's every other run sends nothing for it."""
    if pages.presenting():
        # In the page's top bar, beside Streamlit's own menu: on a 1024×768 projector a row of
        # its own pushed the page's first chart below the fold.
        st.html(TOP_CSS)
        where = st.container(key="share_view_top")
    else:
        where = st.sidebar
    with where:
        popover = st.popover("Share this view", icon=":material/share:", key=KEY,
                             on_change="rerun")
    if not popover.open:
        return
    page, params = url_values.view_of_session()
    link = url_values.link_of(page, params)
    with popover:
        st.caption("This view's link (page, model and settings; never who you are). "
                   "Copy it with the button at its right:")
        st.code(link, language=None, wrap_lines=True)
        png = qr_png(link)
        if png is None:
            st.caption("This link is too long for a QR code: send it instead.")
        else:
            st.image(png, width=QR_PX, caption="Scan to open this view")
