"""The README's layout is the folder list: every package of explorer/ is named there, and every
module of the layers a reader follows file by file (the top level, data/, training/, runs/,
analysis/, figures/); everything named there exists. A newcomer reads the architecture off the
folders, and the README cannot fall behind them."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPLORER = ROOT / "explorer"
# Folders whose modules the README names one by one; the others are summed up on their line.
FILE_BY_FILE = ("", "data", "training", "runs", "analysis", "figures")


def _named() -> set[str]:
    """Every file or folder name the README's layout block mentions, path parts included."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout\n", 1)[1].split("```\n", 1)[1].split("```", 1)[0]
    paths = re.findall(r"[\w./]+?(?:\.py|\.toml|/)(?=[\s,)]|$)", block, re.M)
    return {part for p in paths for part in p.split("/") if part}


def _packages() -> list[Path]:
    return sorted(p for p in EXPLORER.rglob("*") if (p / "__init__.py").exists()
                  and "migrations" not in p.parts)


def test_every_package_and_every_layer_module_is_in_the_readmes_layout():
    named = _named()
    missing = [f"{p.relative_to(EXPLORER)}/" for p in _packages() if p.name not in named]
    for folder in FILE_BY_FILE:
        for path in sorted((EXPLORER / folder).glob("*.py")):
            if path.name != "__init__.py" and path.name not in named:
                missing.append(str(path.relative_to(EXPLORER)))
    assert not missing, f"README's layout does not name: {missing}"


def test_everything_the_layout_names_exists():
    there = {p.name for p in EXPLORER.rglob("*")} | {"explorer", "app.py", "harness",
                                                      "pretrained", "tests", "bench"}
    gone = sorted(n for n in _named() if n not in there)
    assert not gone, f"README's layout names what is not there: {gone}"


# The layers, top of the data flow first: the README's layout in this order. A module may import
# one above its own layer; these are the places where a layer reaches below itself today (module
# of the lower layer → the layer it imports). A list that only shrinks: a new one fails here.
LAYERS = ("errors", "paths", "usertext", "frontdoor", "data", "families", "training", "jobs",
          "runs", "analysis", "figures", "lessons", "classroom", "pretrain", "cli", "__main__",
          "ui")
REACHES_DOWN = {
    ("analysis/latent.py", "figures"),  # image grids (numpy only) for decoded grids
    ("data/datasets.py", "runs"), ("data/userdata.py", "runs"),  # the one atomic writer
    # A family's own folder holds its torch side: its training step uses the one loop, its
    # evaluation the shared metrics and scores, its files the run folder's writers.
    ("families/ae_vae/ops.py", "analysis"), ("families/ae_vae/ops.py", "training"),
    ("families/cvae/ops.py", "analysis"), ("families/gan/ops.py", "analysis"),
    ("families/gan/measures.py", "training"), ("families/latent_diffusion/cli.py", "runs"),
    ("families/latent_diffusion/evaluate.py", "analysis"),
    ("families/latent_diffusion/files.py", "runs"), ("families/latent_diffusion/run.py", "runs"),
    ("families/latent_diffusion/run.py", "training"),
    ("families/latent_diffusion/train.py", "training"),
    ("families/latent_diffusion/views.py", "analysis"),
    # A job records its replay (analysis) and writes its run (runs).
    ("jobs/engine.py", "runs"), ("jobs/preload.py", "analysis"), ("jobs/run.py", "analysis"),
    ("jobs/run.py", "runs"), ("jobs/spec.py", "analysis"), ("jobs/worker.py", "analysis"),
}


def test_a_layer_imports_only_those_above_it_but_for_a_shrinking_list():
    import ast

    rank = {name: i for i, name in enumerate(LAYERS)}
    found = set()
    for path in EXPLORER.rglob("*.py"):
        own = path.relative_to(EXPLORER).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("explorer"):
                targets = ([f"explorer.{a.name}" for a in node.names]
                           if node.module == "explorer" else [node.module])
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("explorer.")]
            else:
                continue
            for target in targets:
                layer = target.split(".")[1]
                if own in rank and layer in rank and rank[layer] > rank[own]:
                    found.add((str(path.relative_to(EXPLORER)), layer))
    assert found - REACHES_DOWN == set(), "a layer reaches below itself"
    assert REACHES_DOWN - found == set(), "these no longer reach down: take them off the list"
