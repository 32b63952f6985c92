"""The Family contract: what a model family declares, so that the rest of the app asks it instead
of branching on its name.

A family is a small declaration (name, capabilities, traits the pages and cards read, free of
torch so that listing models stays fast) and, imported the first time a model is built or
trained, its torch side (``impl``): the model class, the training step, evaluation and sampling.

The torch side of a family module provides:

- ``build(cfg) -> nn.Module``: the untrained model of a :class:`~explorer.families.config.ModelConfig`;
- ``Step(model, train_cfg, device)``: owns the optimisers; ``step(x, y, autocast) -> dict`` makes
  one update on a batch and returns ``loss`` (what the divergence guard watches) and its named
  parts, as tensors on the device (the loop reads them every few steps, never every step);
  ``loss(model, x, y) -> dict`` is that dict without the update;
  ``end_epoch(data) -> dict`` adds numbers to an epoch's training row; ``test(x, y, seed) ->
  dict`` gives the test row (may be empty); ``message(history) -> str`` a closing sentence;
- ``evaluate(model, data, seed) -> dict``: the card's ``metrics``.

Sampling is shared (:mod:`explorer.families.generate`): a family only says where its codes come from
(``codes_from_data``: a Gaussian fitted to the codes of its training images, for a family with
no prior).

A family over another run's codes (``base_run``, e.g. a learned prior over an autoencoder's codes)
is not a model of images: it is trained on a base run's codes, its folder holds ``card_file``
instead of ``card.json``, and its torch side provides instead:

- ``train_cli(args, progress) -> int``: ``python -m explorer train --model NAME --base RUN``;
- ``eval_cli(args) -> int``: ``python -m explorer eval FOLDER`` of one of its folders;
- ``run_job(spec, emit, should_stop)``: a job of the shared queue, reporting as
  :func:`explorer.jobs.worker.run_job` does (``spec.model`` holds its config, ``kind`` and
  ``base``, the base run's label).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Family:
    name: str  # the card's "kind"
    label: str  # how the app names it, e.g. "VAE"
    capabilities: frozenset[str]  # of "encode", "decode", "sample", "condition"
    impl: str  # the module of its torch side (see the module's docstring)
    about: str = ""  # one sentence for the Train form's model list
    # An encoder of plain images giving a Gaussian posterior q(z|x): KL per dimension, an ELBO.
    posterior: bool = False
    kl_weight: bool = False  # a β weighs a KL term in its loss (shown as β on its card)
    # Judged as a generator (sample scores: precision/recall, FID-like distances) on its card,
    # rather than by reconstruction: listed on Compare generators.
    generator_scores: bool = False
    # Samples decode a Gaussian fitted to the codes of its training images (it has no prior).
    codes_from_data: bool = False
    batch_norm: bool = False  # batch norm after each hidden layer of its decoder (parameters)
    head: str = "z"  # its encoder body's outputs: "z" (D codes), "mu_logvar" (2·D), "logit" (1)
    # Trained to reconstruct its images, scored by a likelihood (Bernoulli, Gaussian, binarized);
    # a GAN's generator is scored by its discriminator instead.
    reconstructs: bool = True
    sample_note: str = ""  # what the Sample page says of this family's samples
    # Compare generators says where each model of it ranks on precision and recall, in words:
    # the literature makes a claim about its samples (a GAN's: sharp, but modes missed) that the
    # table of scores confirms or not.
    ranked_in_words: bool = False
    # Trained over another run's codes (see the module's docstring): listed apart from the
    # families of image models (explorer.families.names(base_run=True)).
    base_run: bool = False
    card_file: str = "card.json"  # the file that marks one of its folders
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def conditional(self) -> bool:
        return "condition" in self.capabilities

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def code_features(self, latent_dim: int) -> int:
        """Outputs of the encoder body's head: D codes, 2·D for (μ, log σ²), 1 for a critic."""
        return {"z": latent_dim, "mu_logvar": 2 * latent_dim, "logit": 1}[self.head]

    def ops(self):
        """Its torch side, imported the first time it is needed."""
        return importlib.import_module(self.impl)

    def build(self, cfg):
        return self.ops().build(cfg)

    def owns(self, folder) -> bool:
        """Whether `folder` holds a model of this family (its card file is there)."""
        from pathlib import Path

        return (Path(folder) / self.card_file).is_file()

    def parameter_count(self, cfg) -> int | None:
        """Its parameters counted from the config alone, or None to count the shared bodies'."""
        return None
