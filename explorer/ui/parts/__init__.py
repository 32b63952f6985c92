"""Streamlit parts the pages share (the sidebar, the map's views, the Train form)."""
