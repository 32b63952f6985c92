"""Text a user typed or uploaded (class names, dataset and run names, cards, lesson prompts),
made safe for the place that shows it: the one helper every display of such text goes through.

Two places render markup: Streamlit's Markdown (captions, ``st.markdown``, image captions,
tables; links, images, ``:red[...]``, HTML tags) and plotly's labels (legend names, hover
text; a subset of HTML, ``<a href>`` included, and ``%{...}`` templates). :func:`md` and
:func:`html` escape for each, so ``![x](http://…)`` shows as those characters and loads nothing.
Widget option labels (select boxes, radios) are plain text in Streamlit and need neither.
"""

from __future__ import annotations

import html as _html

from explorer.errors import plain


def md(text: object, limit: int = 200) -> str:
    """`text` for a Markdown place: one line, Markdown's and HTML's special characters escaped."""
    return plain(text, limit)


def html(text: object, limit: int = 200) -> str:
    """`text` for a plotly label: one line, ``<``, ``>``, ``&``, quotes and ``%`` as entities."""
    text = "".join(c for c in " ".join(str(text).split()) if c.isprintable())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _html.escape(text, quote=True).replace("%", "&#37;")
