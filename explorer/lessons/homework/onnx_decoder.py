"""A model's decoder as an ONNX graph, for a browser to run (ONNX Runtime Web).

The graph maps codes ``z`` (B, D) float32 to pixel means ``x_hat`` (B, C, H, W) in [0, 1]: the
decoder followed by the sigmoid, exactly what :func:`explorer.analysis.latent.decode` computes. The export
uses ``torch.onnx.export`` with the TorchScript exporter (``dynamo=False``), which needs the
``onnx`` package; the app itself starts without it, and only exporting says it is missing.
"""

from __future__ import annotations

import importlib.util
import io
import warnings

import torch
from torch import nn

from explorer.errors import ExplorerError
from explorer.families.models import can

OPSET = 17  # ONNX Runtime Web 1.30 runs every operator of opset 17 that an MLP or conv decoder uses
INSTALL_HINT = ("Exporting a lesson needs the onnx package: install it with "
                "`.venv/bin/pip install -r requirements.txt` (onnx is pinned there).")


class ExportError(ExplorerError):
    """A lesson or model that cannot be exported; the message says why."""


class _Decoder(nn.Module):
    """z (B, D) -> x_hat (B, C, H, W): the decoder's logits through the sigmoid."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decode(z)


def onnx_missing() -> str | None:
    """A sentence when the ONNX tooling is missing, else None; looks without importing it (a
    page asks on every run)."""
    try:
        found = importlib.util.find_spec("onnx") is not None
    except (ImportError, ValueError):
        found = False
    return None if found else INSTALL_HINT


def check_exportable(model: nn.Module, label: str) -> None:
    """Refuse, in one sentence, a model the page could not show: it needs codes for the test
    images (an encoder) and a decoder from a code alone (no label to condition on)."""
    if not can(model, "decode") or can(model, "condition"):
        raise ExportError(f"{label} cannot be exported: its decoder needs a class label beside the "
                          "code, and the homework page decodes a code alone.")
    if not can(model, "encode"):
        raise ExportError(f"{label} cannot be exported: it has no encoder, so there are no codes "
                          "of the test images to draw its map from.")


def decoder_onnx(model: nn.Module, label: str = "This model") -> bytes:
    """The model's decoder as ONNX bytes with a dynamic batch axis (input "z", output "x_hat")."""
    if (problem := onnx_missing()) is not None:
        raise ExportError(problem)
    check_exportable(model, label)
    model = model.float().cpu().eval()
    z = torch.zeros(1, model.cfg.latent_dim)
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.inference_mode(False):
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(_Decoder(model), (z,), buffer, dynamo=False, opset_version=OPSET,
                              input_names=["z"], output_names=["x_hat"],
                              dynamic_axes={"z": {0: "batch"}, "x_hat": {0: "batch"}})
    except Exception as e:  # an unsupported layer: torch raises many kinds, all mean "cannot"
        raise ExportError(f"{label} cannot be exported to ONNX: one of its layers has no ONNX "
                          f"form ({type(e).__name__}).") from None
    return buffer.getvalue()
