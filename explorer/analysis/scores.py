"""One score for every generator, measured in a small classifier's feature space.

A classifier per offline dataset is trained on its train split and shipped in
``pretrained/classifiers/<dataset>/`` (safetensors + a card with its test accuracy). Its
penultimate layer gives each image a feature vector; there we compare generated images with the
test split:

- ``fid``: the Fréchet distance between Gaussians fitted to the two sets of features — the FID
  recipe (Heusel et al., 2017) with our classifier in place of Inception, so its numbers are
  comparable between our models, not with published FIDs;
- ``precision`` / ``recall`` (Kynkäänniemi et al., 2019): the share of samples inside the real
  images' k-NN manifold (are samples realistic?), and of real images inside the samples'
  (is all of the data covered?);
- ``class_accuracy`` for a conditional model: the share of samples the classifier assigns to the
  class that was asked for; :func:`read_analogies` asks the same of latent arithmetic's images.

Each score moves with the sampling seed (precision about ±0.015, recall ±0.04, FD ±3–10 on
mnist-5k): :func:`score_spread` scores ``SCORE_SEEDS`` seeds and gives each score's mean and
standard deviation (``fid_sd``...), and :func:`table_in_words` calls a difference only beyond them.

:func:`floor` gives the same scores of the real train split against the test split: a reference,
not a bound (a generator can beat its precision), whose Fréchet distance depends on the sets'
sizes (e.g. 4,000 train vs 1,000 test images on mnist-5k).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from explorer import families
from explorer.analysis.latent import analogy_codes, decode
from explorer.analysis.metric_names import SCORE_NAMES  # noqa: F401 (the score table's column headers)
from explorer.atomic import write_atomic
from explorer.data.datasets import Dataset
from explorer.errors import ModelFileError
from explorer.families.models import init_weights
from explorer.paths import ROOT, cache_dir

CLASSIFIERS = ROOT / "pretrained" / "classifiers"
# The shipped models' scores, written by `python -m explorer pretrain`: a fresh server's Compare
# view opens at once instead of sampling and scoring every model for its first visitor.
SHIPPED_SCORES = CLASSIFIERS.parent / "scores"
K_NEIGHBOURS = 3  # Kynkäänniemi et al. use k = 3
N_SAMPLES = 5000  # samples scored per model
FD_NAME = ("Fréchet distance in the classifier's features (FID recipe, Heusel et al. 2017, "
           "with our classifier in place of Inception)")
SHOWN_DECIMALS = 3  # scores are shown to three decimals: equal when they print equal
SCORE_SEEDS = 3  # sampling seeds a shown score is the mean of: seed, seed + 1, seed + 2
SPREAD_KEYS = ("fid", "precision", "recall", "class_accuracy")


@dataclass(frozen=True)
class ClassifierConfig:
    image_shape: tuple[int, int, int]
    n_classes: int
    features: int = 128  # width of the penultimate layer: the space the scores live in

    def __post_init__(self):
        object.__setattr__(self, "image_shape", tuple(int(v) for v in self.image_shape))


class Classifier(nn.Module):
    """Two stride-2 convolutions (one hidden layer for images under 16 pixels wide), then the
    feature layer and the class head."""

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        self.cfg = cfg
        c, h, w = cfg.image_shape
        if w < 16:
            body: list[nn.Module] = [nn.Flatten(), nn.Linear(c * h * w, 256), nn.ReLU()]
            flat = 256
        else:
            body = [nn.Conv2d(c, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
                    nn.Flatten()]
            flat = 64 * ((h + 3) // 4) * ((w + 3) // 4)
        self.body = nn.Sequential(*body, nn.Linear(flat, cfg.features), nn.ReLU())
        self.head = nn.Linear(cfg.features, cfg.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))  # (B, K) logits


def train_classifier(data: Dataset, epochs: int = 10, seed: int = 0,
                     batch_size: int = 64) -> tuple[Classifier, float]:
    """A classifier for `data`, trained on its train split; returns it with its test accuracy."""
    cfg = ClassifierConfig(data.image_shape, len(data.class_names))
    model = Classifier(cfg)
    generator = torch.Generator().manual_seed(seed)
    init_weights(model, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = data.x_train, data.y_train
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), batch_size):
            batch = perm[i : i + batch_size]
            loss = F.cross_entropy(model(x[batch]), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    return model, accuracy(model, data.x_test, data.y_test.numpy())


@torch.inference_mode()
def _run(model: Classifier, x: torch.Tensor, batch_size: int = 1000):
    feats, preds = [], []
    for i in range(0, len(x), batch_size):
        f = model.body(torch.as_tensor(x[i : i + batch_size], dtype=torch.float32))  # (B, F)
        feats.append(f)
        preds.append(model.head(f).argmax(1))
    return torch.cat(feats).double().numpy(), torch.cat(preds).numpy()


def features(model: Classifier, x) -> np.ndarray:
    """(N, F) penultimate-layer features of images (N, C, H, W)."""
    return _run(model, x)[0]


def predict(model: Classifier, x) -> np.ndarray:
    """(N,) the class the classifier reads in each image (N, C, H, W)."""
    return _run(model, x)[1]


def accuracy(model: Classifier, x, y: np.ndarray) -> float:
    return float((predict(model, x) == np.asarray(y)).mean())


def save_classifier(model: Classifier, dataset: str, test_accuracy: float,
                    root: Path | None = None) -> Path:
    folder = Path(root or CLASSIFIERS) / dataset
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / "model.safetensors"))
    card = {"dataset": dataset, "config": {**asdict(model.cfg),
                                           "image_shape": list(model.cfg.image_shape)},
            "test_accuracy": round(test_accuracy, 4),
            "about": "Scores generated images: its penultimate layer is the feature space of "
                     "the Fréchet distance, precision and recall."}
    write_atomic(folder / "card.json", json.dumps(card, indent=1).encode())
    return folder


_LOADED: dict[str, tuple[Classifier, dict]] = {}


def load_classifier(dataset: str, root: Path | None = None) -> tuple[Classifier, dict]:
    """The shipped classifier of `dataset` and its card; ModelFileError when none ships."""
    key = f"{root}:{dataset}"
    if key not in _LOADED:
        folder = Path(root or CLASSIFIERS) / dataset
        try:
            card = json.loads((folder / "card.json").read_text())
            model = Classifier(ClassifierConfig(**card["config"]))
            model.load_state_dict(load_file(str(folder / "model.safetensors")))
        except (OSError, KeyError, TypeError, ValueError, RuntimeError):
            raise ModelFileError(f"No scoring classifier ships for {dataset}; scores are only "
                                 "available for the offline datasets (digits, mnist-5k).") from None
        _LOADED[key] = (model.eval(), card)
    return _LOADED[key]


# -- the scores ---------------------------------------------------------------------------------
def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between Gaussians fitted to the rows
    of a and b (Heusel et al., 2017, eq. 6 of the appendix's FID)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    # A feature no image switches on (a dead ReLU) makes both covariances singular; the same tiny
    # ridge on both keeps the square root defined and the distance of a set to itself at 0.
    ridge = 1e-6 * np.eye(a.shape[1])
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    root = scipy.linalg.sqrtm(cov_a @ cov_b)
    root = root.real  # rounding leaves tiny imaginary parts
    value = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root)
    return float(max(value, 0.0))


def _kth_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row of x to its k-th nearest other row, (N,)."""
    d = torch.cdist(x, x)  # (N, N)
    return d.kthvalue(k + 1, dim=1).values  # +1: each point is its own nearest, at 0


def _covered(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> float:
    """Share of `points` inside at least one ball (centre, radius)."""
    inside = torch.cdist(points, centres) <= radii[None, :]  # (P, C)
    return float(inside.any(1).float().mean())


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = K_NEIGHBOURS) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019): each set's manifold is the union
    of balls reaching each of its points' k-th nearest neighbour."""
    r, f = torch.from_numpy(real).float(), torch.from_numpy(fake).float()
    precision = _covered(f, r, _kth_radius(r, k))
    recall = _covered(r, f, _kth_radius(f, k))
    return precision, recall


def compare_features(real: np.ndarray, fake: np.ndarray, seed: int = 0) -> dict[str, float]:
    # k-NN radii shrink as a set grows: precision and recall compare sets of the same size, the
    # larger one cut to a seeded random subset (a split or a CVAE's draws may be sorted by class).
    m = min(len(real), len(fake))
    rng = np.random.default_rng(seed)
    real_m = real[np.sort(rng.permutation(len(real))[:m])] if len(real) > m else real
    fake_m = fake[np.sort(rng.permutation(len(fake))[:m])] if len(fake) > m else fake
    precision, recall = precision_recall(real_m, fake_m)
    return {"fid": frechet_distance(real, fake), "precision": precision, "recall": recall}


_FLOORS: dict[str, dict[str, float]] = {}
_TEST_FEATURES: dict[str, np.ndarray] = {}


def _test_features(data: Dataset) -> np.ndarray:
    if data.name not in _TEST_FEATURES:
        _TEST_FEATURES[data.name] = features(load_classifier(data.name)[0], data.x_test)
    return _TEST_FEATURES[data.name]


def floor(data: Dataset) -> dict[str, float]:
    """The scores of the real train split against the test split: a reference (not a bound: a
    generator can beat its precision), with the spread over the subsets precision and recall are
    measured on (``SCORE_SEEDS`` seeds). Its FD depends on the two sets' sizes."""
    if data.name not in _FLOORS:
        clf, _ = load_classifier(data.name)
        real, train = _test_features(data), features(clf, data.x_train)
        _FLOORS[data.name] = spread([compare_features(real, train, seed=s)
                                     for s in range(SCORE_SEEDS)])
    return dict(_FLOORS[data.name])


def with_spread(row: dict, key: str) -> str:
    """A score as shown: "mean ± sd" at SHOWN_DECIMALS, the mean alone without a spread, "—"
    where the row has none (class accuracy of an unconditional model)."""
    value = row.get(key)
    if not isinstance(value, int | float) or not np.isfinite(value):
        return "—"
    sd = row.get(f"{key}_sd")
    return f"{value:.{SHOWN_DECIMALS}f}" + (f" ± {sd:.{SHOWN_DECIMALS}f}"
                                             if isinstance(sd, int | float) else "")


def spread(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each score's mean over `runs` (one dict per seed) and its standard deviation as `<key>_sd`
    (ddof 1: the seeds are a sample of the seeds one could draw), with the number of `seeds`."""
    out: dict[str, float] = {}
    for key in SPREAD_KEYS:
        values = [r[key] for r in runs if key in r]
        if values:
            out[key] = float(np.mean(values))
            out[f"{key}_sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {**out, "seeds": len(runs)}


def score_file(content_hash: str, dataset: str, n: int = N_SAMPLES, seed: int = 0) -> str:
    """The name the scores of those weights, dataset, sample count and seed are kept under."""
    return f"{content_hash}-{dataset}-{n}-{seed}.json"


def score_model(model, data: Dataset, n: int = N_SAMPLES, seed: int = 0,
                content_hash: str = "") -> dict[str, float]:
    """fid, precision, recall (and class_accuracy for a conditional model) of n samples against
    the test split. With a `content_hash` the result is kept for those exact weights: read from
    the shipped scores or the cache, else computed and written to the cache."""
    from explorer.families.generate import sample

    name = score_file(content_hash, data.name, n, seed)
    for folder in (SHIPPED_SCORES, cache_dir("scores")) if content_hash else ():
        try:
            return json.loads((folder / name).read_text())
        except (OSError, ValueError):
            pass  # none there, or a damaged entry: look further, or compute
    clf, _ = load_classifier(data.name)
    x, labels = sample(model, n, seed=seed, data=data)
    feats, preds = _run(clf, x)
    scores = compare_features(_test_features(data), feats, seed=seed)
    if labels is not None:
        scores["class_accuracy"] = float((preds == labels).mean())
    if content_hash:
        try:
            write_atomic(cache_dir("scores") / name, json.dumps(scores).encode())
        except OSError:
            pass  # a read-only cache only costs a recomputation
    return scores


def spread_file(content_hash: str, dataset: str, n: int = N_SAMPLES, seed: int = 0) -> str:
    """The name the scores over SCORE_SEEDS seeds from `seed` are kept under."""
    return f"{content_hash}-{dataset}-{n}-seeds{seed}-{seed + SCORE_SEEDS - 1}.json"


def score_spread(model, data: Dataset, n: int = N_SAMPLES, seed: int = 0,
                 content_hash: str = "") -> dict[str, float]:
    """:func:`score_model` at SCORE_SEEDS sampling seeds (seed, seed + 1, ...), each seed also
    drawing the subsets precision and recall compare: each score's mean and `<key>_sd`. With a
    `content_hash`, kept like score_model's (the shipped scores hold these files)."""
    name = spread_file(content_hash, data.name, n, seed)
    for folder in (SHIPPED_SCORES, cache_dir("scores")) if content_hash else ():
        try:
            return json.loads((folder / name).read_text())
        except (OSError, ValueError):
            pass
    result = spread([score_model(model, data, n, seed=s) for s in range(seed, seed + SCORE_SEEDS)])
    if content_hash:
        try:
            write_atomic(cache_dir("scores") / name, json.dumps(result).encode())
        except OSError:
            pass
    return result


def evaluate_generator(model, data: Dataset, seed: int = 0, content_hash: str = "",
                       seeds: bool = False) -> dict[str, float]:
    """The test metrics a GAN's or CVAE's card gets: the scores (and a CVAE's test loss); with
    `seeds`, each score's mean and spread over SCORE_SEEDS sampling seeds (:func:`score_spread`)."""
    metrics: dict[str, float] = {}
    if families.of(model).conditional:  # its test loss parts too (a GAN has none)
        from explorer.analysis.metrics import scoring_images
        from explorer.training.loop import evaluate_loss

        # A binarised CVAE is scored on the one fixed draw of the test split, as a VAE is.
        x_test = scoring_images(model, data.x_test)
        metrics.update(evaluate_loss(model, x_test, seed=seed, y=data.y_test))
    try:
        how = score_spread if seeds else score_model
        metrics.update(how(model, data, seed=seed, content_hash=content_hash))
    except ModelFileError:
        pass  # no classifier for this dataset: the card simply has no scores
    return metrics


# -- latent arithmetic, checked -----------------------------------------------------------------
@dataclass(frozen=True)
class AnalogyCheck:
    """What the classifier reads in latent arithmetic's images: for test image i (of class y_i)
    and class c, decode(z_i − mean(y_i) + mean(c)). Column y_i is the image's reconstruction."""

    read: np.ndarray  # (M, K) the class read; -1 where class c has no mean (no test image)
    source: np.ndarray  # (M,) y_i

    @property
    def asked(self) -> np.ndarray:
        """(M, K) the analogies that ask for another class: not y_i, and c has a mean."""
        k = self.read.shape[1]
        return (np.arange(k)[None] != self.source[:, None]) & (self.read >= 0).all(0)[None]

    @property
    def hits(self) -> int:
        """How many analogies are read as the class asked for."""
        return int(((self.read == np.arange(self.read.shape[1])[None]) & self.asked).sum())

    @property
    def n_asked(self) -> int:
        return int(self.asked.sum())

    @property
    def own(self) -> int:
        """How many reconstructions are read as their own class: the most the check can give."""
        return int((self.read[np.arange(len(self.source)), self.source] == self.source).sum())


def read_codes(model, clf: Classifier, z: np.ndarray) -> np.ndarray:
    """(B,) the class the classifier reads in the model's decoding of each code z (B, D)."""
    images = decode(model, z)  # (B, H, W) or (B, C, H, W)
    if images.ndim == 3:
        images = images[:, None]  # the classifier wants a channel axis
    return predict(clf, torch.from_numpy(images))


def check_analogies(model, clf: Classifier, codes: np.ndarray, labels: np.ndarray,
                    means: np.ndarray, indices) -> AnalogyCheck:
    """Decode every analogy of the test images `indices` (codes (N, D), labels (N,), class means
    (K, D) from :func:`explorer.analysis.latent.class_means`) and read each with the classifier."""
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    source = np.asarray(labels, dtype=np.int64)[indices]  # (M,)
    z = analogy_codes(codes[indices], means, source)  # (M, K, D)
    m, k, d = z.shape
    present = np.isfinite(means).all(1)  # (K,)
    read = np.full((m, k), -1, dtype=np.int64)
    if m and present.any():
        read[:, present] = read_codes(model, clf, z[:, present].reshape(-1, d)).reshape(m, -1)
    return AnalogyCheck(read, source)
