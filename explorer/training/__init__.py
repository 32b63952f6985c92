"""The training loops: on-device tensors, generators owned by the run, callbacks, a stop flag; no UI, no files."""
