"""Time to score a generator: 5,000 samples drawn, passed through the shipped classifier, and their
Fréchet distance, precision and recall against the test split — the cold cost the Compare
generators page pays once per model (after that the score is read from the cache by content
hash, also timed), for the shipped GAN, of the shipped generators the slowest to sample. The
reference is the same sampling and classification with the scores left out, so the table shows
what the scores themselves add. (The shipped models' scores ship in ``pretrained/scores``: the
page reads those and pays this only for a student's own runs.)

    python bench/bench_scores.py [--quick] [--json out.json]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402


def main() -> None:
    args = C.main_args(__doc__.splitlines()[0])
    import torch

    torch.set_num_threads(1)
    from explorer.analysis import scores
    from explorer.data.datasets import load_dataset
    from explorer.families.generate import sample
    from explorer.runs.checkpoints import load_model
    from explorer.runs.store import PRETRAINED_DIR

    folder = PRETRAINED_DIR / "mnist-gan-conv-z32"
    model, card = load_model(folder)
    data = load_dataset("mnist-5k")
    clf, _ = scores.load_classifier("mnist-5k")
    repeats = 1 if args.quick else 3
    cache = tempfile.mkdtemp()

    def cold() -> float:
        t = time.perf_counter()
        scores.score_model(model, data, n=scores.N_SAMPLES)
        return time.perf_counter() - t

    def reference() -> float:
        t = time.perf_counter()
        scores.features(clf, sample(model, scores.N_SAMPLES)[0])
        return time.perf_counter() - t

    wall = C.interleaved({"ours": cold, "reference": reference}, repeats)
    import os

    os.environ["EXPLORER_CACHE_DIR"] = cache
    scores.score_model(model, data, content_hash=card["content_hash"])
    t = time.perf_counter()
    scores.score_model(model, data, content_hash=card["content_hash"])
    cached = time.perf_counter() - t
    ours, ref = C.median(wall["ours"]), C.median(wall["reference"])
    rows = [C.Row("score 5,000 samples (cold), 1 thread", ours, ref, "s", goal="≤ 5 s",
                  met=ours <= 5.0, reference_name="sampling + classifier features only"),
            C.Row("score again (cached by content hash)", cached, None, "s", goal="≤ 0.1 s",
                  met=cached <= 0.1)]
    C.finish("scores", rows, args, {"wall": wall, "load_average": C.load_average()})


if __name__ == "__main__":
    main()
