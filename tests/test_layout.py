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
