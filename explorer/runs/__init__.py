"""Saved runs: model files (safetensors + JSON), the runs folder, zip import/export."""

from explorer.frontdoor import lazy

# What the pages may use: each module, and the names offered from it (explorer/frontdoor.py).
OFFERS = {
    "checkpoints": "finite_number run_label=label weights_limit",
    "exports": "coords_csv import_model_zip model_zip unsaved_model_zip",
    "store": "check_writable clean_stale_temps default_entry is_taken list_models loss_name "
             "MAX_NAME ModelEntry new_run_path runs_dir sanitize_run_name save_kept "
             "suggested_run_name unique_run_name",
}
__getattr__, __dir__ = lazy(__name__, OFFERS, globals())
