"""The map page's neighbour rows: for one selected test image, its nearest test images by code and
by pixels, with distances, and how many the two lists share."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.neighbours import NeighbourIndex
from explorer.ui import common

K = 8


@st.cache_resource(max_entries=8, show_spinner=False)
def neighbour_index(path: str, content_hash: str, dataset: str) -> NeighbourIndex:
    """Built once per model's weights (the content hash) and shared by every session."""
    return NeighbourIndex(common.test_codes(path, content_hash, dataset),
                          common.get_dataset(dataset).x_test)


def show_neighbours(cur: common.Current, chosen: list[int]) -> None:
    """Two image rows under the map when exactly one point is selected."""
    if len(chosen) != 1:
        return
    i = chosen[0]
    found = neighbour_index(str(cur.entry.path), cur.hash, cur.entry.dataset).query(i, K)
    labels, names = cur.labels, cur.names
    x = cur.data.x_test

    def row(index: np.ndarray, distance: np.ndarray) -> None:
        same = int((labels[index] == labels[i]).sum())
        st.caption(f"{same} of {len(index)} are also a {names[labels[i]]}.")
        common.show_images(list(x[index]), [f"#{j} · {names[labels[j]]} · {d:.2f}"
                                            for j, d in zip(index, distance, strict=True)], size=64)

    st.subheader(f"Nearest to #{i}")
    st.markdown("**By code** (distance in the latent space)")
    row(found.code_index, found.code_distance)
    st.markdown("**By pixels** (distance between the images themselves)")
    row(found.pixel_index, found.pixel_distance)
    st.caption(f"{found.shared} of {K} images are in both rows. Where the rows differ, the code "
               "groups images by something other than their raw pixels — often the class, "
               "drawn differently.")
