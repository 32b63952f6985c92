"""Datasets in, tensors out: the built-in, downloadable and a class's own image sets, and a hand-drawn digit prepared like them."""

from explorer.frontdoor import lazy

# What the pages may use: each module, and the names offered from it (explorer/frontdoor.py).
OFFERS = {
    "dataset_export": "dataset_npz",
    "datasets": "add_user_dataset Dataset DEFAULT_DATASET get_info INFOS is_available "
                "mixed_indices",
    "drawing": "DIGITS_SIZE DrawingError EmptyDrawingError EXAMPLE_DIGITS example_drawing "
               "load_upload preprocess_for",
    "userdata": "MAX_IMAGES MIN_PER_CLASS SIZES suggested_name",
}
__getattr__, __dir__ = lazy(__name__, OFFERS, globals())
