"""Every plotly figure and image grid, from arrays: no computing here."""
