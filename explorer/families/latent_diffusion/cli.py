"""The command line's latent diffusion parts: ``train --model latent-diffusion --base RUN`` and
``eval`` of a prior's folder (explorer.cli hands them over through the family registry)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from explorer.errors import ExplorerError


def train(args, progress) -> int:
    from explorer.families.latent_diffusion.config import DiffusionConfig, DiffusionTrainConfig
    from explorer.families.latent_diffusion.run import resolve_base, run_diffusion
    from explorer.runs.store import new_run_path, unique_run_name

    if not args.base:
        raise ExplorerError("--model latent-diffusion needs --base RUN (an AE or VAE run).")
    base = resolve_base(args.base)
    try:
        hidden = int(args.hidden or 256)
    except ValueError:
        raise ExplorerError("--hidden for latent-diffusion is one width, e.g. 256.") from None
    cfg = DiffusionConfig(latent_dim=base.card["config"]["latent_dim"], hidden=hidden,
                          codes=args.codes)
    train_cfg = DiffusionTrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                     seed=args.seed)
    if args.out:
        out = Path(args.out)
        if out.exists() and not args.overwrite:
            raise ExplorerError(f"{out} already exists; pass --overwrite or choose another --out.")
    else:
        out = new_run_path(unique_run_name(f"{base.path.name}-diffusion"))
    print(f"Training {cfg.describe()} over {base.label} for {args.epochs} epochs", file=sys.stderr)
    outcome = run_diffusion(base, cfg, train_cfg, out, callback=progress)
    r = outcome.result
    if r.status != "finished":
        print(r.message, file=sys.stderr)
    if outcome.path is None:
        return 1
    print(f"Saved {outcome.path} ({r.epochs_done} epochs, {r.seconds:.1f} s)")
    print(json.dumps(outcome.metrics, indent=1))
    return 0 if r.status != "diverged" else 1


def evaluate(args) -> int:
    from explorer.data.datasets import load_dataset
    from explorer.families.latent_diffusion.evaluate import evaluate as evaluate_prior
    from explorer.families.latent_diffusion.files import load_prior
    from explorer.families.latent_diffusion.run import resolve_base

    prior, card = load_prior(args.path)
    base = resolve_base(card["base"]["label"])
    if base.card["content_hash"] != card["base"]["content_hash"]:
        raise ExplorerError(f"{card['base']['label']} has changed since this prior was trained "
                            "on it (its content hash differs).")
    result = evaluate_prior(prior, base.model, load_dataset(base.dataset), seed=args.seed)
    result = {"prior": card["name"], "base": card["base"], **result,
              "test_loss": card.get("metrics", {}).get("test_loss")}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.path}: diffusion prior of {card['base']['label']} "
          f"({result['measured_against']}, {result['steps']} sampler steps, seed {args.seed})")
    for row, s in result["rows"].items():
        print(f"  {row:<18} FD {s['fid']:8.2f}  precision {s['precision']:.3f}  "
              f"recall {s['recall']:.3f}  ({s['n']} images)")
    print(f"  share of the FD gap N(0, I) → reconstructions closed: {result['gap_closed']:.2f}")
    return 0
