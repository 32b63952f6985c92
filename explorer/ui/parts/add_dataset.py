"""The "Add a dataset" expander (sidebar): a class's own images as a .zip of class folders, or
arrays as an .npz, checked and stored by :mod:`explorer.data.userdata`; the new set is then picked."""

from __future__ import annotations

from functools import partial

import streamlit as st

from explorer import data
from explorer.errors import ExplorerError


def add_dataset_expander(picker_key: str) -> None:
    """Draw the expander; after a successful add, the picker `picker_key` (drawn later in the
    same run) shows and selects the new dataset."""
    from explorer.ui.parts.class_parts import adding_refused

    with st.sidebar.expander("Add a dataset", icon=":material/add_photo_alternate:"):
        if why := adding_refused("datasets"):  # a student, unless the teacher allows it
            st.caption(why)
            download_dataset()
            return
        st.caption(
            "A **.zip** with one folder per class (the folder names become the class names) of "
            "PNG, JPEG, BMP or GIF images, at least "
            f"{data.MIN_PER_CLASS} a class; or an **.npz** with `x` shaped (N, H, W) or "
            "(N, C, H, W) and optional `y` and `class_names`."
        )
        upload = st.file_uploader("Images (.zip) or arrays (.npz)", type=["zip", "npz"],
                                  key="dataset_upload")
        name = st.text_input("Name", key="dataset_name", max_chars=40,
                             placeholder="from the file's name",
                             help="Lowercase letters, digits, '-' and '_'.")
        size = st.number_input(
            "Image size (pixels a side)", min_value=data.SIZES[0], max_value=data.SIZES[1],
            value=None, step=1, key="dataset_size", placeholder="the images' own, at most 28",
            help="Every image is resized to this square. Larger images train more slowly.")
        colour = st.toggle("Keep colour", key="dataset_colour",
                           help="Off: grey images, which most drawings are.")
        added = st.button("Add the dataset", key="dataset_add", disabled=upload is None,
                          icon=":material/upload:")
        download_dataset()
        if not added:
            return
        if why := adding_refused("datasets"):  # checked again when the file arrives
            st.error(why)
            return
        bar = st.progress(0.0, text="Reading the file…")
        try:
            info = data.add_user_dataset(
                name.strip() or data.suggested_name(upload.name), upload.getvalue(),
                upload.name, size=None if size is None else int(size), colour=colour,
                progress=lambda fraction, text: bar.progress(fraction, text=text))
        except ExplorerError as e:
            bar.empty()
            st.error(str(e))
            return
        bar.empty()
        st.session_state[picker_key] = info.name
        st.success(f"Added **{info.name}**: {info.n_train + info.n_test:,} images in "
                   f"{len(info.class_names)} classes. It is picked in the Dataset list.")


def _dataset_file(name: str) -> bytes:
    from explorer.data import dataset_npz

    return dataset_npz(name)[0]


def download_dataset() -> None:
    """A dataset as the .npz this box takes, to add on another machine (a full download set,
    over the images a file may hold, is fetched there instead of carried)."""
    names = [n for n, i in data.INFOS.items()
             if i.n_train + i.n_test <= data.MAX_IMAGES and data.is_available(n)]
    name = st.selectbox("Download a dataset", names, key="dataset_download_pick",
                        help="To train on the same images elsewhere: the .npz holds its images, "
                             "labels and class names, and adding it there splits off the same "
                             "test images.")
    if name is not None:
        st.download_button(
            f"Download {name} (.npz)", partial(_dataset_file, name), file_name=f"{name}.npz",
            mime="application/octet-stream", key="dataset_download", on_click="ignore",
            icon=":material/download:")
