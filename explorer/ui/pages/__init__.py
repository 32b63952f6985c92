"""The app's pages in one table: ``app.py`` builds ``st.navigation`` from it, and every switch from
one page to another goes through :func:`open_page` and :func:`follow`, which name pages by key.

Opening a page from a button takes two runs. A callback runs before the sidebar's model picker is
drawn, so it may still set the picker's key (``model``), which is bound to the URL and so may not be
written by ``st.switch_page``; but a callback cannot switch pages. So the callback records where
to go, and the next run, once the sidebar is drawn, switches there.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

FOLDER = "explorer/ui/pages"
SIDEBAR_KEYS = ("model", "present")  # bound to the URL on every page; they carry over by themselves
_PENDING = "_open_page"


@dataclass(frozen=True)
class PageSpec:
    file: str
    title: str
    icon: str
    section: str
    url_path: str | None = None  # None: the default page, at "/"

    @property
    def path(self) -> str:
        return f"{FOLDER}/{self.file}"


# In this order in the sidebar, which folds all past the first ten under "View more" once there
# are more than twelve: what a class uses every minute comes first (Train is the tenth), and the
# class's own pages, reached from their link, come last.
PAGES: dict[str, PageSpec] = {
    "lessons": PageSpec("lessons.py", "Lessons", ":material/school:", "Learn", "lessons"),
    "map": PageSpec("latent_map.py", "Latent map", ":material/scatter_plot:", "Explore"),
    "compare": PageSpec("compare.py", "Reconstructions", ":material/compare:", "Explore",
                        "compare"),
    "interpolate": PageSpec("interpolate.py", "Interpolate", ":material/linear_scale:", "Explore",
                            "interpolate"),
    "sample": PageSpec("sample.py", "Sample", ":material/casino:", "Explore", "sample"),
    "draw": PageSpec("draw.py", "Draw a digit", ":material/draw:", "Explore", "draw"),
    "inside": PageSpec("inside.py", "Inside the latent space", ":material/biotech:", "Explore",
                       "inside"),
    "rate_distortion": PageSpec("rate_distortion.py", "Rate and distortion",
                                ":material/show_chart:", "Explore", "rate-distortion"),
    "generators": PageSpec("generators.py", "Compare generators", ":material/grid_view:",
                           "Explore", "generators"),
    "train": PageSpec("train.py", "Train", ":material/model_training:", "Build", "train"),
    "diffusion": PageSpec("diffusion.py", "Latent diffusion", ":material/blur_on:", "Build",
                          "latent-diffusion"),
    "join": PageSpec("join.py", "Join the class", ":material/how_to_reg:", "Class", "join"),
    "teacher": PageSpec("teacher.py", "Teacher", ":material/co_present:", "Class", "teacher"),
}


def presenting() -> bool:
    """Whether presenter mode is on (the sidebar's toggle, ``?present=true``). Before the toggle
    is drawn (the page's setup) the link says. Here, not in ``common``, so that ``app.py`` can ask
    before the heavy imports."""
    if "present" in st.session_state:
        return bool(st.session_state["present"])
    return st.query_params.get("present", "").lower() == "true"


def name_of(url_path: str) -> str:
    """A page's name in the table from its URL path ("" for the default page)."""
    return next((name for name, spec in PAGES.items() if (spec.url_path or "") == url_path),
                "map")


def path(name: str) -> str:
    """A page's file, relative to the app's root, e.g. for ``st.page_link``."""
    return PAGES[name].path


def navigation() -> dict[str, list[st.Page]]:
    """The table as ``st.navigation`` wants it: pages grouped by section, in table order."""
    sections: dict[str, list[st.Page]] = {}
    for spec in PAGES.values():
        page = (st.Page(spec.path, title=spec.title, icon=spec.icon, default=True)
                if spec.url_path is None else
                st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path))
        sections.setdefault(spec.section, []).append(page)
    return sections


def open_page(name: str, params: dict[str, str] | None = None, model: str | None = None) -> None:
    """on_click of a button that opens page `name` with URL query `params`, showing `model`."""
    if model:
        st.session_state["model"] = model
    st.session_state[_PENDING] = (name, params or {})


def follow() -> None:
    """Switch to the page a callback asked for, if any; app.py calls it once the sidebar is drawn."""
    if (pending := st.session_state.pop(_PENDING, None)) is None:
        return
    switch(*pending)


def switch(name: str, params: dict[str, str] | None = None) -> None:
    """Switch to page `name` now (from a page's body, not a callback), with URL query `params`."""
    # An explicit query, even an empty one: with none, switch_page clears the whole URL, which
    # Streamlit refuses while the sidebar's widgets are bound to it.
    query = {k: v for k, v in (params or {}).items() if k not in SIDEBAR_KEYS}
    st.switch_page(path(name), query_params=query)
