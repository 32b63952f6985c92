"""What a server prepares in the background once it has started, so that a fresh tab on any page
does not wait for it: torch imported, each shipped model's test codes on disk (what its map and
most pages start from), UMAP's numba kernels compiled, then every shipped model loaded into its
shared ModelView (its weights, codes and dataset in memory: a fresh tab's page asks the same
object) and the modules the pages import when they first draw a picture.

No Streamlit here: the work fills the backend's disk caches (``projection_files``), which the
pages' own caches read, so no thread touches Streamlit outside a script run.
"""

from __future__ import annotations

import logging
import os
import threading

from explorer import families
from explorer.analysis.projection_files import load_codes, save_codes
from explorer.data import datasets
from explorer.runs import store

log = logging.getLogger(__name__)
_STARTED = threading.Event()


def warm_shipped_codes() -> list[str]:
    """Each shipped model's test codes, computed and kept on disk where they are not yet; returns
    the ids of the models it encoded."""
    from explorer.analysis import latent
    from explorer.runs import checkpoints  # torch: imported here, in the background
    from explorer.training.loop import configure_threads

    configure_threads()
    encoded = []
    for entry in store.list_models()[0]:
        content_hash = entry.card.get("content_hash", "")
        if entry.source != "pretrained" or not content_hash \
                or not families.of(entry).can("encode"):
            continue
        dim = int(entry.card["config"]["latent_dim"])
        rows = len(datasets.test_labels(entry.dataset))
        if load_codes(content_hash, entry.dataset, rows, dim) is not None:
            continue
        model, _ = checkpoints.load_model(entry.path)
        codes = latent.encode_dataset(model, datasets.load_dataset(entry.dataset).x_test)
        save_codes(content_hash, entry.dataset, codes)
        encoded.append(entry.id)
    return encoded


# What pages import when they first draw (a decoder's pictures, the figures, neighbours, the
# rate-distortion plane, scikit-learn's PCA): imported once here, a fresh tab finds them in
# sys.modules. (A fresh tab on Reconstructions measured in AppTest at load ~50: 25.8 s on a cold
# process, 11.4 s after the warm-up; most of the rest is fitting the PCA baseline.)
PAGE_MODULES = ("explorer.analysis.latent", "explorer.analysis.inspect_latent",
                "explorer.analysis.neighbours", "explorer.analysis.rdplane",
                "explorer.analysis.scores", "explorer.figures.plots", "explorer.figures.map",
                "explorer.figures.compare", "explorer.images",
                "sklearn.decomposition")  # Reconstructions' PCA baseline: seconds to import


def warm_imports() -> None:
    import importlib

    for name in PAGE_MODULES:
        importlib.import_module(name)


def warm_views(only: set[str] | None = None) -> list[str]:
    """Each shipped model (or those whose ids are in `only`) loaded into its shared ModelView, with
    its codes (where it encodes) and its dataset: what a fresh tab's first picture waits for.
    Returns the ids it loaded."""
    from explorer.analysis.view import MAX_VIEWS, ModelView

    loaded = []
    # The model every fresh tab opens on first, then the rest in the list's order.
    entries = sorted(store.list_models()[0], key=lambda e: e.name != store.DEFAULT_MODEL)
    for entry in entries:
        if entry.source != "pretrained" or not entry.card.get("content_hash") \
                or (only is not None and entry.id not in only):
            continue
        if len(loaded) >= MAX_VIEWS:  # more would push the first ones out again
            break
        view = ModelView.of(entry.path, entry.card["content_hash"])
        view.model()
        view.data()
        if families.of(entry).can("encode"):
            view.codes()
            if entry.name == store.DEFAULT_MODEL:  # what Reconstructions opens on
                view.reconstructions()
        loaded.append(entry.id)
    return loaded


def start_in_background() -> threading.Thread | None:
    """Start the warm-up in a daemon thread, once per process; None when it has started already
    or is turned off (``EXPLORER_WARM_UP=0``)."""
    if _STARTED.is_set() or os.environ.get("EXPLORER_WARM_UP", "1") == "0":
        return None
    _STARTED.set()

    def run() -> None:
        from explorer.analysis import projection

        try:
            log.info("warm-up: encoded %s", warm_shipped_codes())
            warm_imports()
            log.info("warm-up: loaded %s", warm_views())
            # Last: shipped models ship their maps; UMAP is for a run trained here.
            projection.warm_up_umap()
        except Exception as e:  # noqa: BLE001 - a background warm-up must never raise
            log.warning("warm-up failed: %s", e)

    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread
