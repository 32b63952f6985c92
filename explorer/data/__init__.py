"""Datasets in, tensors out: the built-in, downloadable and a class's own image sets, and a hand-drawn digit prepared like them."""

from explorer.frontdoor import lazy

# What the pages may use, and the module each name comes from (explorer/frontdoor.py).
OFFERS = {
    "dataset_npz": "dataset_export",
    "add_user_dataset": "datasets", "Dataset": "datasets", "DEFAULT_DATASET": "datasets",
    "get_info": "datasets", "INFOS": "datasets", "is_available": "datasets",
    "mixed_indices": "datasets",
    "DIGITS_SIZE": "drawing", "DrawingError": "drawing", "EmptyDrawingError": "drawing",
    "EXAMPLE_DIGITS": "drawing", "example_drawing": "drawing", "load_upload": "drawing",
    "preprocess_for": "drawing",
    "MAX_IMAGES": "userdata", "MIN_PER_CLASS": "userdata", "SIZES": "userdata",
    "suggested_name": "userdata",
}
__getattr__, __dir__ = lazy(__name__, OFFERS, globals())
