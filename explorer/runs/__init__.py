"""Saved runs: model files (safetensors + JSON), the runs folder, atomic writes, zip import/export."""

from explorer.frontdoor import lazy

# What the pages may use, and the module each name comes from (explorer/frontdoor.py).
OFFERS = {
    "finite_number": "checkpoints", "run_label": "checkpoints:label",
    "weights_limit": "checkpoints",
    "coords_csv": "exports", "import_model_zip": "exports", "model_zip": "exports",
    "unsaved_model_zip": "exports",
    "check_writable": "store", "clean_stale_temps": "store", "default_entry": "store",
    "is_taken": "store", "list_models": "store", "loss_name": "store", "MAX_NAME": "store",
    "ModelEntry": "store", "new_run_path": "store", "runs_dir": "store",
    "sanitize_run_name": "store", "save_kept": "store", "suggested_run_name": "store",
    "unique_run_name": "store",
}
__getattr__, __dir__ = lazy(__name__, OFFERS, globals())
