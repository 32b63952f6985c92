"""The class dashboard's numbers: one row per student, the loss curves, the class's points on
the rate–distortion plane (never joined to the shipped sweeps) and the CSV export.

Rows carry names as plain strings; the page shows them as text. No token or key is ever in a
row, so none can reach the export.
"""

from __future__ import annotations

import csv
import io
import math

from explorer.classroom.store import ClassStore, RunInfo

COLUMNS = ("student", "run", "dataset", "model", "state", "epoch", "epochs", "neg_elbo", "rate",
           "distortion", "knn_acc", "fid", "precision", "recall")


def _numbers(run: RunInfo) -> dict:
    """The numbers that matter for the run: the test metrics once finished, else the latest
    epoch's test loss parts (rate = KL, distortion = reconstruction term, nats per image)."""
    m = dict(run.metrics)
    if not m and run.history:
        last = run.history[-1]
        if "kl" in last and "recon" in last:
            m = {"rate": last["kl"], "distortion": last["recon"],
                 "neg_elbo": last["kl"] + last["recon"]}
        elif "loss" in last:
            m = {"loss": last["loss"]}
    return m


def latest_runs(runs: list[RunInfo]) -> dict[int | None, RunInfo]:
    latest: dict[int | None, RunInfo] = {}
    for run in runs:  # ordered by id: the last one wins
        latest[run.student_id] = run
    return latest


def rows(store: ClassStore, class_id: int) -> list[dict]:
    """One row per student on the roster (their latest run), in joining order."""
    latest = latest_runs(store.runs(class_id, include_hidden=True))
    out = []
    for student in store.roster(class_id):
        run = latest.get(student.id)
        row = {k: None for k in COLUMNS}
        row["student"] = student.name
        if run is None:
            row["state"] = "not training yet"
        else:
            nums = _numbers(run)
            row.update(run=run.run_name, dataset=run.dataset, model=run.kind,
                       state=run.ending(), epoch=run.epoch, epochs=run.epochs,
                       **{k: nums.get(k) for k in ("neg_elbo", "rate", "distortion", "knn_acc",
                                                   "fid", "precision", "recall")})
            row["_run_id"] = run.id
            row["_status"] = run.status
            row["_updated"] = run.updated
        out.append(row)
    return out


def export_csv(store: ClassStore, class_id: int, key: str | None = None,
               caller: str = "") -> str:
    """The dashboard table as CSV (teacher only). Cells are text: a name starting with '=' is
    prefixed with a quote so that a spreadsheet does not run it as a formula."""
    store.gate.require(key, caller)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in rows(store, class_id):
        writer.writerow([_cell(row.get(c)) for c in COLUMNS])
    return buffer.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def curves(store: ClassStore, class_id: int, runs: list[RunInfo] | None = None) -> list[dict]:
    """Each run's test loss per epoch, labelled with its student's name (`runs`: the class's
    visible runs, when the caller has read them already)."""
    out = []
    for run in store.runs(class_id) if runs is None else runs:
        points = [(h["epoch"], h["loss"]) for h in run.history if "loss" in h]
        if points:
            out.append({"student": run.student or "teacher", "run": run.run_name,
                        "epochs": [p[0] for p in points], "loss": [p[1] for p in points]})
    return out


def rd_points(store: ClassStore, class_id: int, runs: list[RunInfo] | None = None) -> list[dict]:
    """The class's VAE runs as (rate, distortion) points with the student's name, and a sentence
    for an outlier: KL collapsed (rate ≈ 0) or diverged."""
    out = []
    runs = store.runs(class_id) if runs is None else runs
    for run in runs:
        nums = _numbers(run)
        rate, distortion = nums.get("rate"), nums.get("distortion")
        if rate is None or distortion is None:
            continue
        if not (math.isfinite(rate) and math.isfinite(distortion)):
            continue
        note = ""
        if rate < 0.5:
            note = "KL collapsed: the code carries almost nothing about the image."
        out.append({"student": run.student or "teacher", "run": run.run_name, "rate": rate,
                    "distortion": distortion, "status": run.status, "note": note})
    for run in runs:
        if run.status == "failed" and "diverg" in run.message.lower():
            out.append({"student": run.student or "teacher", "run": run.run_name, "rate": None,
                        "distortion": None, "status": run.status,
                        "note": "Diverged: the loss became infinite or NaN."})
    return out
