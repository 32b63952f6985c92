"""Command line: ``python -m explorer datasets [add] | train | eval | list | import | pretrain |
export-lesson``.

Errors a user can fix (unknown dataset, latent size 0, a folder that is not a model) print one line
and exit with status 2; nothing prints a traceback for them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from explorer import families
from explorer.errors import ExplorerError


class ProgressBar:
    """A one-line text progress bar with the running loss, for terminals (stderr)."""

    def __init__(self, stream=None, width: int = 30):
        # sys.stderr as it is now, not as it was when this module was imported (a test's
        # captured stream, since closed).
        self.stream, self.width = stream or sys.stderr, width
        self.tty = self.stream.isatty()
        self.last_epoch_line = 0

    def __call__(self, event) -> None:
        total = event.epochs * event.steps_per_epoch
        done = min(event.step / total, 1.0) if total else 0.0
        filled = int(self.width * done)
        bar = "█" * filled + "·" * (self.width - filled)
        loss = event.parts.get("loss", float("nan"))
        line = f"epoch {event.epoch}/{event.epochs} [{bar}] {done:4.0%} loss {loss:9.3f}"
        if event.kind == "epoch":
            test = event.test_parts or {}
            parts = " ".join(f"{k} {v:.3f}" for k, v in test.items())
            line += f" | test {parts}"
            self.stream.write(("\r" if self.tty else "") + line + "\n")
        elif self.tty:
            self.stream.write("\r" + line)
        self.stream.flush()


def cmd_datasets(args) -> int:
    from explorer.data.datasets import INFOS, is_available

    if args.action == "add":
        return cmd_datasets_add(args)
    if args.action == "export":
        return cmd_datasets_export(args)
    print(f"{'name':<15}{'images':>8}  {'size':<8}{'offline now':<16}description")
    for info in INFOS.values():
        n = info.n_train + info.n_test
        c, h, w = info.image_shape
        ok = "yes" if is_available(info.name) else "no (downloads)"
        print(f"{info.name:<15}{n:>8}  {f'{h}x{w}':<8}{ok:<16}{info.about}")
    return 0


def read_capped(path: Path, limit: int, what: str) -> bytes:
    """The file's bytes, refused before reading when it is over `limit`, as the app's uploader
    refuses it; every problem is one sentence."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise ExplorerError(f"{path.name} is {size / 2**20:,.0f} MB; {what} "
                                f"{limit // 2**20} MB.")
        return path.read_bytes()
    except OSError as e:
        raise ExplorerError(f"{path} could not be read ({e.strerror}).") from None


def cmd_datasets_add(args) -> int:
    from explorer.data.datasets import add_user_dataset
    from explorer.data.userdata import MAX_FILE_BYTES

    path = Path(args.file)
    data = read_capped(path, MAX_FILE_BYTES, "the limit is")
    info = add_user_dataset(args.name, data, path.name, args.size, args.colour)
    c, h, w = info.image_shape
    print(f"Added {info.name}: {info.n_train} train and {info.n_test} test images, {h}x{w}"
          f"{' colour' if c == 3 else ''}, classes {', '.join(info.class_names)}")
    return 0


def cmd_datasets_export(args) -> int:
    from explorer.data.dataset_export import dataset_npz

    data, same = dataset_npz(args.name)
    Path(args.out).write_bytes(data)
    print(f"Wrote {args.out} ({len(data) / 2**20:.1f} MB): add it elsewhere with "
          f"`python -m explorer datasets add {args.name} {Path(args.out).name}`"
          + ("; it splits back into the same test images" if same else
             "; its test split there will be drawn anew"))
    return 0


def cmd_train(args) -> int:
    family = families.get(args.model)
    if family.base_run:  # a family over another run's codes, not a model of images
        return family.ops().train_cli(args, ProgressBar())
    from explorer.data.datasets import get_info
    from explorer.families.models import ModelConfig, parse_hidden
    from explorer.jobs import run_training
    from explorer.runs.store import new_run_path, suggested_run_name, unique_run_name
    from explorer.training.loop import TrainConfig

    info = get_info(args.dataset)
    model_cfg = ModelConfig(
        kind=args.model, arch=args.arch, image_shape=info.image_shape, latent_dim=args.latent_dim,
        hidden=parse_hidden(args.hidden, args.arch), likelihood=args.likelihood, beta=args.beta, sparsity=args.sparsity,
        denoise=args.denoise, n_classes=len(info.class_names) if families.get(args.model).conditional else 0,
    )
    train_cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                            seed=args.seed, device=args.device, precision=args.precision)
    if args.out:
        out = Path(args.out)
        if out.exists() and not args.overwrite:
            raise ExplorerError(f"{out} already exists; pass --overwrite or choose another --out.")
    else:
        out = new_run_path(unique_run_name(suggested_run_name(info.name, model_cfg)))
    print(f"Training {model_cfg.describe()} on {args.dataset} for {args.epochs} epochs", file=sys.stderr)
    outcome = run_training(model_cfg, train_cfg, args.dataset, out, callback=ProgressBar(),
                           overwrite=args.overwrite)
    r = outcome.result
    if r.status != "finished":
        print(r.message, file=sys.stderr)
    if outcome.path is None:
        return 1
    print(f"Saved {outcome.path} ({r.epochs_done} epochs, {r.seconds:.1f} s, "
          f"{r.images_per_second:,.0f} images/s)")
    print(json.dumps(outcome.metrics, indent=1))
    return 0 if r.status != "diverged" else 1


def cmd_eval(args) -> int:
    from explorer.analysis.metrics import evaluate
    from explorer.analysis.scores import evaluate_generator
    from explorer.data.datasets import load_dataset
    from explorer.families.models import can
    from explorer.runs.checkpoints import load_model

    if (family := families.folder_family(args.path)) is not None:  # e.g. a prior over codes
        return family.ops().eval_cli(args)
    model, card = load_model(args.path)
    data = load_dataset(card.get("dataset", {}).get("name", "mnist-5k"))
    if can(model, "encode"):
        from explorer.analysis.inspect_latent import holes_shares

        metrics = evaluate(model, data, seed=args.seed, iw_k=args.iw_k)
        metrics.update(holes_shares(model, data.x_test))
        if can(model, "sample"):  # the sample scores' mean and spread (fid_sd...) over seeds
            metrics.update(evaluate_generator(model, data, seed=args.seed,
                                              content_hash=card["content_hash"], seeds=True))
    else:
        metrics = evaluate_generator(model, data, seed=args.seed, content_hash=card["content_hash"],
                                     seeds=True)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(f"{args.path}: {model.cfg.describe()} on {data.name} (test split, {len(data.x_test)} images)")
        for k, v in metrics.items():
            sd = metrics.get(f"{k}_sd")
            if k.endswith("_sd") and k[:-3] in metrics:
                continue  # printed beside its mean
            print(f"  {k:<14}{v:.4f} ± {sd:.4f} (sd over {metrics['seeds']} sampling seeds)"
                  if sd is not None else f"  {k:<14}{v:.4f}" if isinstance(v, float)
                  else f"  {k:<14}{v}")
    return 0


def cmd_list(args) -> int:
    from explorer.runs.store import list_models

    entries, problems = list_models()
    for e in entries:
        print(f"{e.id:<40}{e.summary}")
    for p in problems:
        print(f"skipped: {p}", file=sys.stderr)
    return 0


def cmd_import(args) -> int:
    from explorer.runs.exports import MAX_ZIP_BYTES, import_model_zip
    from explorer.runs.store import runs_dir

    path = Path(args.file)
    data = read_capped(path, MAX_ZIP_BYTES, "a shared model is at most")
    folder = import_model_zip(data, runs_dir(), args.name or path.stem)
    print(f"Added runs/{folder.name}")
    return 0


def cmd_pretrain(args) -> int:
    from explorer.pretrain import pretrain

    pretrain(Path(args.out) if args.out else None, only=args.only, epochs=args.epochs,
             projections=not args.no_projections)
    return 0


def cmd_export_lesson(args) -> int:
    from explorer.lessons.homework import write_bundle

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise ExplorerError(f"{out} is not empty; pass --overwrite or choose another --out.")
    index = write_bundle(args.lesson, out)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"Wrote {index} ({size / 2**20:.1f} MB): open it in a browser, no server needed")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m explorer", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("datasets", help="list datasets (and whether each is available offline), "
                                        "or add your own: datasets add NAME FILE")
    d_sub = d.add_subparsers(dest="action")
    a = d_sub.add_parser("add", help="add a .zip of images in one folder per class, or an .npz "
                                     "with x (N, H, W) or (N, C, H, W) and optional y, class_names")
    a.add_argument("name", help="the new dataset's name: lowercase letters, digits, - and _")
    a.add_argument("file", help="the .zip or .npz")
    a.add_argument("--size", type=int, help="side of the square images (default: the smaller of "
                                            "28 and the images' own)")
    a.add_argument("--colour", action="store_true", help="keep colour (default: grey)")

    x = d_sub.add_parser("export", help="write a dataset as an .npz that 'datasets add' takes")
    x.add_argument("name", help="a built-in dataset or one a class added")
    x.add_argument("--out", required=True, help="the .npz to write")

    t = sub.add_parser("train", help="train a model and save it as a run")
    t.add_argument("--dataset", default="mnist-5k")
    over = families.names(base_run=True)  # families trained over another run's codes
    t.add_argument("--model", choices=[*families.names(), *over], default="vae",
                   help="a GAN trains best with --lr 2e-4 --batch-size 64; "
                   + ", ".join(over) + " learns the codes of --base RUN")
    t.add_argument("--base", help=f"{'/'.join(over)}: the AE/VAE run, pretrained/NAME or "
                                  "runs/NAME")
    t.add_argument("--codes", choices=["mean", "draw"], default="mean",
                   help=f"{'/'.join(over)}: the base's posterior means, or draws (a VAE)")
    t.add_argument("--arch", choices=["mlp", "conv"], default="mlp")
    t.add_argument("--latent-dim", type=int, default=16)
    t.add_argument("--hidden", default="",
                   help="MLP widths or conv channels, e.g. 400 or 512,256 (default 400 / 32,64)")
    t.add_argument("--likelihood", choices=["bernoulli", "gaussian", "binarized"],
                   default="bernoulli")
    t.add_argument("--beta", type=float, default=1.0)
    t.add_argument("--sparsity", type=float, default=0.0, help="L1 weight on the code")
    t.add_argument("--denoise", type=float, default=0.0, help="std of input noise while training")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    t.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="arithmetic of the layers: auto = bf16 where the hardware has it natively")
    t.add_argument("--out", help="run folder (default: runs/<generated name>)")
    t.add_argument("--overwrite", action="store_true")

    e = sub.add_parser("eval", help="evaluate a saved model on its test split")
    e.add_argument("path")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--iw-k", type=int, default=50,
                   help="samples for the importance-weighted bound (0: skip it)")

    sub.add_parser("list", help="list shipped models and your runs")

    i = sub.add_parser("import", help="add a shared model's .zip to your runs")
    i.add_argument("file", help="the .zip made by 'Download model (.zip)'")
    i.add_argument("--name", help="run name (default: the file's name); -2, -3, ... if taken")

    r = sub.add_parser("pretrain", help="rebuild the shipped models in pretrained/")
    r.add_argument("--out", help="folder to write (default: pretrained/)")
    r.add_argument("--only", nargs="*", help="names of the models to rebuild")
    r.add_argument("--epochs", type=int, help="override every model's epochs (for quick checks)")
    r.add_argument("--no-projections", action="store_true")

    h = sub.add_parser("export-lesson", help="write a lesson as a static page that decodes in "
                                             "the browser (homework): index.html and its files")
    h.add_argument("lesson", help="the lesson's name, e.g. no-holes")
    h.add_argument("--out", required=True, help="folder to write")
    h.add_argument("--overwrite", action="store_true", help="write into a folder that has files")
    from explorer.classroom import cli as class_cli

    class_cli.add_parser(sub)
    return p


COMMANDS = {"datasets": cmd_datasets, "train": cmd_train, "eval": cmd_eval, "list": cmd_list,
            "import": cmd_import, "pretrain": cmd_pretrain, "export-lesson": cmd_export_lesson}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("train", "import"):
            from explorer.runs.store import clean_stale_temps

            clean_stale_temps()  # what a killed save left behind must not outlive a restart
        if args.command == "class":
            from explorer.classroom import cli as class_cli

            return class_cli.run(args)
        return COMMANDS[args.command](args)
    except ExplorerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
