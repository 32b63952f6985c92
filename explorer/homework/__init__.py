"""Homework: a lesson exported as a static page that decodes in the student's browser.

:func:`write_bundle` writes the folder, :func:`bundle_zip` the same files as one zip. Exporting
needs the ``onnx`` package and the npm package ``onnxruntime-web`` (both installed by
``scripts/setup.sh``); the app starts without them, and an export says in one sentence what is
missing. Nothing here is imported by the app at start-up.
"""

from explorer.homework.bundle import bundle_files, bundle_zip, write_bundle
from explorer.homework.onnx_decoder import ExportError, decoder_onnx, onnx_missing

__all__ = ["ExportError", "bundle_files", "bundle_zip", "decoder_onnx", "onnx_missing",
           "write_bundle"]
