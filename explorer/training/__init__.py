"""The training loops: on-device tensors, generators owned by the run, callbacks, a stop flag; no UI, no files."""

from explorer.frontdoor import lazy

# What the pages may use: each module, and the names offered from it (explorer/frontdoor.py).
OFFERS = {
    "loop": "TrainConfig",
}
__getattr__, __dir__ = lazy(__name__, OFFERS, globals())
