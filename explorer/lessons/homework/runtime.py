"""ONNX Runtime Web, copied into a bundle so the page decodes with no server and no network.

``scripts/setup.sh`` installs the pinned npm package ``onnxruntime-web`` into ``.cache/npm``
(gitignored); $EXPLORER_ORT_WEB may name another copy of its folder. Only the smallest build the
page needs travels: the classic-script WebAssembly build (``ort.wasm.min.js``), its loader module
and its SIMD WebAssembly binary, plus the licence.

A page opened from ``file://`` may not fetch() or import() its own files in Chromium, so the loader
module travels as a string (the page imports it from a blob: URL) and the 14 MB binary gzipped and
base64-encoded in a script (the page inflates it with DecompressionStream and hands the bytes to
``ort.env.wasm.wasmBinary``): one file each, about a third of the binary's size.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from pathlib import Path

from explorer.lessons.homework.onnx_decoder import ExportError
from explorer.paths import ROOT

ORT_WEB_VERSION = "1.30.0"  # pinned in scripts/setup.sh too
LOADER = "ort-wasm-simd-threaded.mjs"  # with numThreads = 1 it starts no worker
BINARY = "ort-wasm-simd-threaded.wasm"  # the plain SIMD build: no WebGPU/JSEP, the smallest
SCRIPT = "ort.wasm.min.js"
LICENCE = Path(__file__).with_name("page") / "LICENSE-onnxruntime-web.txt"
INSTALL = (f"npm install --prefix .cache/npm onnxruntime-web@{ORT_WEB_VERSION} "
           "(or run scripts/setup.sh)")


def package_dir() -> Path:
    """The onnxruntime-web package folder, checked; one sentence says how to install it."""
    folder = Path(os.environ.get("EXPLORER_ORT_WEB") or
                  ROOT / ".cache" / "npm" / "node_modules" / "onnxruntime-web")
    missing = [name for name in (SCRIPT, LOADER, BINARY) if not (folder / "dist" / name).is_file()]
    if missing:
        raise ExportError(f"ONNX Runtime Web (the npm package onnxruntime-web) is not installed, "
                          f"and the page needs it to decode in the browser: {INSTALL}.")
    try:
        version = json.loads((folder / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        version = "unknown"
    if version != ORT_WEB_VERSION:
        raise ExportError(f"onnxruntime-web {version} is installed, but the page is made for "
                          f"{ORT_WEB_VERSION}: {INSTALL}.")
    return folder


def runtime_files() -> dict[str, bytes]:
    """The files the page loads, by their path in the bundle."""
    dist = package_dir() / "dist"
    loader = (dist / LOADER).read_text(encoding="utf-8")
    # mtime=0: the same package always gives the same bytes, so bundles are reproducible
    binary = base64.b64encode(gzip.compress((dist / BINARY).read_bytes(), 6, mtime=0)).decode()
    return {
        f"ort/{SCRIPT}": (dist / SCRIPT).read_bytes(),
        "ort/ort-loader.js": f"window.ORT_LOADER_MJS = {json.dumps(loader)};\n".encode(),
        "ort/ort-binary.js": f'window.ORT_BINARY_GZIP_BASE64 = "{binary}";\n'.encode(),
        "ort/LICENSE-onnxruntime-web.txt": LICENCE.read_bytes(),
    }
