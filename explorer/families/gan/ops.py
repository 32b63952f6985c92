"""The torch side of the GAN: per batch, one discriminator step then one generator step, each
with Adam at the usual GAN setting, and each epoch how varied the samples of a fixed batch of
noise are compared with real images (:mod:`explorer.families.gan.measures` holds those measures)."""

from __future__ import annotations

import torch

from explorer.families.gan.measures import (
    BETAS,
    collapse_reference,
    collapse_warning,
    draw,
    fixed_noise,
    variety,
)

# The fused Adam kernel rounds differently from the classic one (the same draws, weights apart by
# ~1e-7 after three epochs), so the shipped GAN (36 min on two cores) would no longer rebuild to
# its content hash: turn it on together with the next retraining of pretrained/mnist-gan-conv-z32.
FUSED = False


def build(cfg):
    from explorer.families.gan.model import GAN

    return GAN(cfg)


def loss(model, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Both players' losses on a batch (no update): ``loss`` is their sum, what the loop's
    divergence guard watches; the parts are the generator's and the discriminator's."""
    fake = model.decode(model.noise(len(x), x.device))
    d_parts = model.d_loss(x, fake)
    g_loss = model.g_loss(fake)
    return {"loss": g_loss + d_parts["d_loss"], "g_loss": g_loss, **d_parts}


def evaluate(model, data, seed: int = 0) -> dict:
    from explorer.analysis.scores import evaluate_generator

    return evaluate_generator(model, data, seed=seed)


class Step:
    unreported = ("loss",)  # a page shows the two players' losses, not their sum

    def __init__(self, model, cfg, device: torch.device):
        self.model = model
        fused = FUSED and device.type in ("cpu", "cuda")
        self.opt_g = torch.optim.Adam(model.netG.parameters(), lr=cfg.lr, betas=BETAS,
                                      weight_decay=cfg.weight_decay, fused=fused)
        self.opt_d = torch.optim.Adam(model.netD.parameters(), lr=cfg.lr, betas=BETAS,
                                      weight_decay=cfg.weight_decay, fused=fused)
        self.z_fixed = fixed_noise(model, seed=cfg.seed)
        self.reference: float | None = None

    def step(self, x, y, autocast) -> dict[str, torch.Tensor]:
        model = self.model
        with autocast():
            fake = model.decode(model.noise(len(x), x.device))  # (B, C, H, W)
            d_parts = model.d_loss(x, fake)
        self.opt_d.zero_grad(set_to_none=True)
        d_parts["d_loss"].backward()
        self.opt_d.step()
        with autocast():
            g_loss = model.g_loss(fake)  # the updated discriminator judges the same samples
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return {"loss": g_loss + d_parts["d_loss"], "g_loss": g_loss, **d_parts}

    def end_epoch(self, data) -> dict[str, float]:
        if self.reference is None:
            self.reference = collapse_reference(data)
        return {"variety": variety(draw(self.model, self.z_fixed)) / max(self.reference, 1e-8)}

    def test(self, x, y, seed: int) -> dict[str, float]:
        return {}  # a GAN has no test loss: its card's scores judge its samples

    def message(self, history: list[dict]) -> str:
        return collapse_warning(history[-1]["train"]["variety"], 1.0) if history else ""
