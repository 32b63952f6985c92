"""The Train page's form, as a table: each setting's label, bounds, default and help in one place,
drawn by one function; which model types a setting applies to; and the few settings a student
fills in (the rest under "Advanced").

The optimiser-step count a run will make is said before it starts: a small set trained for a few
epochs makes a handful of steps and learns nothing but grey blobs (5 epochs of 180 images: 10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from explorer import data, families, lessons, runs
from explorer.families import ModelConfig
from explorer.ui.parts import common


@dataclass(frozen=True)
class Field:
    """One setting of the form: a number box when it has bounds, a select box when it has
    options, else a text box."""

    setting: str  # its name in the settings start_job reads
    key: str  # the widget's key
    label: str  # plain words; the term and its meaning are the glossary's (explorer.lessons.glossary)
    default: float | str = ""
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    fmt: str | None = None  # "%g" shows 0.001 as typed instead of rounding it to 0.00
    options: tuple[str, ...] = ()
    placeholder: str = ""
    max_chars: int | None = None
    # Which model types it applies to, by what the family is (explorer.families.base.Family):
    # "" every type; "kl_weight" a KL term to weigh (β); "reconstructs" a likelihood to choose;
    # "encode" an encoder of plain images (sparsity and denoising act on its code and input).
    needs: str = ""
    advanced: bool = True  # under "Advanced", below the Train button

    def applies(self, kind: str) -> bool:
        family = families.get(kind)
        if family.base_run:  # a prior over a base run's codes: the base fixes the model's shape
            return self.setting in OVER_RUN_SETTINGS
        if self.needs == "encode":
            return family.can("encode")
        return not self.needs or bool(getattr(family, self.needs))

    @property
    def help(self) -> str:
        return lessons.help(self.label)


FIELDS = (  # drawn two to a row, in this order: the student's few first, then "Advanced"
    Field("latent", "train_latent", "Code size", 2, lo=2, hi=256, step=1, advanced=False),
    Field("beta", "train_beta", "β (VAE)", 1.0, lo=0.0, hi=1000.0, step=0.5, fmt="%g",
          needs="kl_weight", advanced=False),
    Field("epochs", "train_epochs", "Epochs", 20, lo=1, hi=500, step=1,
          advanced=False),  # 20: ~640 learning steps on the MNIST sample
    Field("hidden", "train_hidden", "Layer sizes", placeholder="400 / 32,64"),
    Field("likelihood", "train_likelihood", "Reconstruction loss",
          options=("bernoulli", "gaussian", "binarized"), needs="reconstructs"),
    Field("sparsity", "train_sparsity", "Sparsity (L1 weight)", 0.0, lo=0.0, hi=100.0,
          step=0.01, fmt="%g", needs="encode"),
    Field("denoise", "train_denoise", "Denoising noise", 0.0, lo=0.0, hi=1.0, step=0.05,
          fmt="%g", needs="encode"),
    Field("batch_size", "train_batch", "Batch size", 128, lo=1, hi=4096, step=32),
    Field("lr", "train_lr", "Learning rate", 1e-3, lo=1e-6, step=1e-4,
          fmt="%g"),  # no max: TrainConfig's check says why
    Field("seed", "train_seed", "Seed", 0, lo=0, hi=2**31 - 1, step=1),
    Field("precision", "train_precision", "Number precision", options=("auto", "fp32", "bf16")),
)
RUN_NAME = Field(
    "name", "train_name", "Run name",
    placeholder="automatic, e.g. " + runs.suggested_run_name(
        data.DEFAULT_DATASET, ModelConfig(kind="vae", arch="mlp", latent_dim=2)),
    max_chars=runs.MAX_NAME, advanced=False,
)
# The settings of the form that a family over another run's codes (a latent diffusion prior)
# takes; its base run, which codes it learns and its epochs are :func:`base_fields`'.
OVER_RUN_SETTINGS = ("batch_size", "lr", "seed", "name")
ENOUGH_STEPS = 500  # optimiser steps below which a run rarely learns more than blurred shapes


def steps_advice(n_train: int, epochs: int, batch_size: int) -> str | None:
    """A sentence when `epochs` passes over `n_train` images, `batch_size` at a time, make fewer
    than ENOUGH_STEPS optimiser steps, naming the epochs that would make about that many."""
    per_epoch = math.ceil(n_train / max(1, batch_size))
    steps = epochs * per_epoch
    if n_train <= 0 or steps >= ENOUGH_STEPS:
        return None
    enough = math.ceil(ENOUGH_STEPS / per_epoch)
    return (f"Only {steps} learning step{'s' * (steps != 1)} ({epochs} "
            f"epoch{'s' * (epochs != 1)} × {per_epoch} batch{'es' * (per_epoch != 1)}): expect "
            f"grey blobs. Your {n_train:,} images need about **{enough} epochs** for "
            f"~{ENOUGH_STEPS} steps.")


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
    info = data.INFOS[name]
    if data.is_available(name):
        return info.title
    megabytes = info.source.download_bytes / 2**20
    return f"{info.title} (downloads ~{megabytes:.0f} MB on first use)"




# -- a family over another run's codes (a latent diffusion prior) ------------------------------
def base_runs(entries, dataset: str) -> list:
    """The runs of `dataset` whose codes a prior can learn: shipped or trained here, of a family
    that encodes images (an AE or a VAE)."""
    return [e for e in entries if e.dataset == dataset and families.of(e.config).can("encode")]


def model_types(bases: list) -> list[str]:
    """The Model type choices: the families of image models, and those over another run's codes
    when a base run for them exists."""
    return [*families.names(), *(families.names(base_run=True) if bases else ())]


PRIOR_EPOCHS = 200  # a few hundred epochs of a few thousand codes: a minute or two of one core


def base_fields(where, bases: list) -> dict:
    """The fields of a prior over a base run's codes: which run (of the chosen dataset), which of
    its codes (a VAE's posterior means or draws) and for how many epochs; returns the settings
    ``base`` (a store entry), ``codes`` and ``prior_epochs``."""
    ids = [e.id for e in bases]
    start = common.form_start("train", "train_base", ids[0])
    base_id = where.selectbox("Base run", ids, index=ids.index(start) if start in ids else 0,
                              key="train_base", help=lessons.help("Base run"))
    base = bases[ids.index(base_id)]
    posterior = families.of(base.config).posterior  # codes can be drawn from q(z|x)
    with where.container(horizontal=True, wrap=False):
        codes = where.radio("Codes to learn from", ["mean", "draw"], key="train_codes", horizontal=True,
                            disabled=not posterior, help=lessons.help("Codes to learn from"))
        epochs = where.number_input("Epochs", 1, 2000, PRIOR_EPOCHS, step=10,
                                    key="train_prior_epochs", help=lessons.help("Epochs"))
    return {"base": base, "codes": codes if posterior else "mean", "prior_epochs": int(epochs)}
