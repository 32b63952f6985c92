"""Saved runs: model files (safetensors + JSON), the runs folder, atomic writes, zip import/export."""
