"""Neighbour rows: for one test image selected on the map, or for a drawing, its nearest test
images by code and by pixels, with distances, and how many the two lists share."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import usertext
from explorer.analysis import NeighbourIndex, Neighbours, most_common
from explorer.ui.parts import common

K = 8


def neighbour_index(path: str, content_hash: str, dataset: str) -> NeighbourIndex:
    """Built once per model's weights (the content hash) and shared by every session."""
    return common.view_of(path, content_hash).neighbour_index()


def index_of(cur: common.Current) -> NeighbourIndex:
    return neighbour_index(str(cur.entry.path), cur.hash, cur.entry.dataset)


def show_rows(cur: common.Current, found: Neighbours, of_class: int | None = None) -> None:
    """Two captioned image rows, by code then by pixels. With `of_class` (the query's class) each
    row says how many share it; without (a drawing has no label), which class most of them are."""
    labels, names, x = cur.labels, cur.names, cur.data.x_test

    def row(index: np.ndarray, distance: np.ndarray) -> None:
        if of_class is not None:
            same = int((labels[index] == of_class).sum())
            verb = "is" if same == 1 else "are"
            st.caption(f"{same} of {len(index)} {verb} also a {usertext.md(names[of_class])}.")
        else:
            st.caption(vote_sentence(labels[index], [usertext.md(n) for n in names]))
        # Presenting (beside the map, eight to a narrow row): index and distance only; the
        # sentence above says their classes.
        common.show_images(list(x[index]), [f"#{j} · {d:.2f}" if common.presenting() else
                                            f"#{j} · {names[labels[j]]} · {d:.2f}"
                                            for j, d in zip(index, distance, strict=True)], size=64)

    st.markdown("**By code** (distance in the latent space)")
    row(found.code_index, found.code_distance)
    st.markdown("**By pixels** (distance between the images themselves)")
    row(found.pixel_index, found.pixel_distance)
    st.caption(f"{found.shared} of {len(found.code_index)} images are in both rows. Where the rows "
               "differ, the code groups images by something other than their raw pixels — often "
               "the class, drawn differently.")


def vote_sentence(found: np.ndarray, names) -> str:
    """Which class most of the neighbours are, naming every class on a tie."""
    top, classes = most_common(found)
    n, tied = len(found), [names[c] for c in classes]
    if len(tied) == 1:
        return f"{top} of {n} are a {tied[0]}, the most common class among them."
    if top == 1:
        return f"No two of the {n} share a class."
    return (f"No single most common class among the {n}: a tie between "
            f"{', '.join(tied[:-1])} and {tied[-1]}, {top} each.")


def show_neighbours(cur: common.Current, chosen: list[int]) -> None:
    """The rows under the map when exactly one point is selected."""
    if len(chosen) != 1:
        return
    i = chosen[0]
    st.subheader(f"Nearest to #{i}")
    show_rows(cur, index_of(cur).query(i, K), of_class=int(cur.labels[i]))
