"""The Train page's form, as a table: each setting's label, bounds, default and help in one place,
drawn by one function."""

from __future__ import annotations

from dataclasses import dataclass

from explorer import datasets, store
from explorer.models import ModelConfig
from explorer.ui import common


@dataclass(frozen=True)
class Field:
    """One setting of the form: a number box when it has bounds, a select box when it has
    options, else a text box."""

    setting: str  # its name in the settings start_job reads
    key: str  # the widget's key
    label: str
    help: str
    default: float | str = ""
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    fmt: str | None = None  # "%g" shows 0.001 as typed instead of rounding it to 0.00
    options: tuple[str, ...] = ()
    placeholder: str = ""
    max_chars: int | None = None


FIELDS = (  # drawn two to a row, in this order
    Field("latent", "train_latent", "Latent size",
          "Length of the code. 2 is a map you can see directly; 16 or more reconstructs better.",
          2, lo=2, hi=256, step=1),
    Field("hidden", "train_hidden", "Hidden sizes",
          "Comma-separated layer widths (MLP) or channels per layer (conv), e.g. 512,256. "
          "Leave empty for the body's default: 400 for MLP, 32,64 for conv.",
          placeholder="400 / 32,64"),
    Field("beta", "train_beta", "β (VAE)",
          "Weight of the KL term; 1 is a plain VAE, 4 a β-VAE. Ignored for AE.",
          1.0, lo=0.0, hi=1000.0, step=0.5, fmt="%g"),
    Field("likelihood", "train_likelihood", "Likelihood",
          "How reconstruction error is scored: Bernoulli (cross-entropy on grey levels, sharp; "
          "not a density of grey images, so its −ELBO has a floor above 0), Gaussian (squared "
          "error: a fixed variance of ½, σ ≈ 0.71 on [0, 1] pixels) or binarized (each image "
          "drawn as black-and-white pixels afresh every epoch: its −ELBO is a true bound).",
          options=("bernoulli", "gaussian", "binarized")),
    Field("sparsity", "train_sparsity", "Sparsity (L1 weight)",
          "Penalises large codes, so few dimensions are used at once (a sparse autoencoder).",
          0.0, lo=0.0, hi=100.0, step=0.01, fmt="%g"),
    Field("denoise", "train_denoise", "Denoising noise",
          "Std of the noise added to inputs while training; the model must rebuild the clean "
          "image (a denoising autoencoder).",
          0.0, lo=0.0, hi=1.0, step=0.05, fmt="%g"),
    Field("epochs", "train_epochs", "Epochs", "Passes over the training images.",
          10, lo=1, hi=500, step=1),
    Field("batch_size", "train_batch", "Batch size", "Images per update step.",
          128, lo=1, hi=4096, step=32),
    Field("lr", "train_lr", "Learning rate",
          "Step size of the Adam optimiser; 1e-3 is a safe start. Too large and the loss "
          "explodes.",
          1e-3, lo=1e-6, step=1e-4, fmt="%g"),  # no max: TrainConfig's check says why
    Field("seed", "train_seed", "Seed", "Same seed and settings give the same model.",
          0, lo=0, hi=2**31 - 1, step=1),
    Field("precision", "train_precision", "Precision",
          "Arithmetic of the layers. Auto: bf16 where this machine has bf16 units (faster, the "
          "loss within 1% of fp32's), else fp32. The weights and the loss are fp32 either way.",
          options=("auto", "fp32", "bf16")),
)
RUN_NAME = Field(
    "name", "train_name", "Run name",
    "The folder the model is saved in. Left empty, a name is made from the dataset, model and "
    "latent size.",
    placeholder="automatic, e.g. " + store.suggested_run_name(
        datasets.DEFAULT_DATASET, ModelConfig(kind="vae", arch="mlp", latent_dim=2)),
    max_chars=store.MAX_NAME,
)


def draw_field(where, field: Field):
    """The field's widget on `where` (a column, or the form itself); returns its value."""
    value = common.form_start("train", field.key, field.default)
    if field.options:
        return where.selectbox(field.label, field.options, key=field.key,
                               index=list(field.options).index(value)
                               if value in field.options else 0,
                               format_func=lambda o: o if o[-1].isdigit() else o.capitalize(),
                               help=field.help)
    if field.lo is None:
        return where.text_input(field.label, value=value, placeholder=field.placeholder,
                                max_chars=field.max_chars, key=field.key, help=field.help)
    return where.number_input(field.label, min_value=field.lo, max_value=field.hi,
                              value=value, step=field.step, format=field.fmt,
                              key=field.key, help=field.help)


def dataset_label(name: str) -> str:
    info = datasets.INFOS[name]
    if datasets.is_available(name):
        return info.title
    megabytes = info.source.download_bytes / 2**20
    return f"{info.title} (downloads ~{megabytes:.0f} MB on first use)"


