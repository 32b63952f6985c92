"""What a server prepares in the background once it has started, so that a fresh tab on any page
does not wait for it: torch imported, each shipped model's test codes on disk (what its map and
most pages start from), and UMAP's numba kernels compiled.

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
            projection.warm_up_umap()
        except Exception as e:  # noqa: BLE001 - a background warm-up must never raise
            log.warning("warm-up failed: %s", e)

    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread
