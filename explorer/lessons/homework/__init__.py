"""Homework: a lesson exported as a static page that decodes in the student's browser.

:func:`write_bundle` writes the folder, :func:`bundle_zip` the same files as one zip. Exporting
needs the ``onnx`` package and the npm package ``onnxruntime-web`` (both installed by
``scripts/setup.sh``); the app starts without them, and an export says in one sentence what is
missing. Nothing here is imported by the app at start-up.
"""

from explorer.lessons.homework.bundle import bundle_files, bundle_zip, write_bundle
from explorer.lessons.homework.onnx_decoder import ExportError, decoder_onnx, onnx_missing
from explorer.lessons.homework.runtime import package_dir

__all__ = ["ExportError", "bundle_files", "bundle_zip", "decoder_onnx", "onnx_missing",
           "unavailable", "write_bundle"]


def unavailable() -> str | None:
    """One sentence when this machine cannot export (onnx or onnxruntime-web missing), else None;
    cheap: nothing is exported to find out."""
    if (problem := onnx_missing()) is not None:
        return problem
    try:
        package_dir()
    except ExportError as e:
        return str(e)
    return None
