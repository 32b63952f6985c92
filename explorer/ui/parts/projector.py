"""Layout pieces for a classroom projector (1024×768, presenter mode): a chart with what it
selects beside it, and legends above the plot in at most two lines, never over it."""

from __future__ import annotations

import streamlit as st

CHART_SHARE = (3, 2)  # the chart's and its details' shares of the row


def chart_width() -> int:
    """The chart's width in px beside its details (the export's size; a 1024 px wide screen's
    main column is about the exports' default width)."""
    from explorer.figures.export import CHART_WIDTH

    return round(CHART_WIDTH * CHART_SHARE[0] / sum(CHART_SHARE))


def beside_the_chart():
    """Two columns, the chart's and its details': on one screen, a click on the chart and what it
    shows are seen together (under the chart they were a screen or two below)."""
    return st.columns(CHART_SHARE, gap="small")


def legend_above(fig, title: str | None = None):
    """`fig` with its legend in rows above the plot (plotly wraps a horizontal legend and makes
    room for it in the top margin), not beside or over it."""
    fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", y=1.0,
                                  yanchor="bottom", yref="paper", title_text=title))
    return fig
