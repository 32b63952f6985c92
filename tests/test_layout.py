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


# The layers, top of the data flow first: the README's layout in this order. A module imports only
# modules of its own layer or of one above it. A family's folder spans two layers: its declaration
# and network (NETWORK's files, and families/*.py) sit below the training loop; its operations
# (ops.py, which the registry hands to the loop, the worker and the CLI by name, and the modules
# they use) sit above analysis, as they train, evaluate and save with the layers below.
LAYERS = ("errors", "paths", "usertext", "frontdoor", "atomic", "images", "data", "families",
          "training", "runs", "analysis", "family operations", "jobs", "figures", "lessons",
          "classroom", "pretrain", "cli", "__main__", "ui")
NETWORK = {"__init__.py", "config.py", "model.py", "schedule.py", "sampling.py"}


def _layer(parts: tuple[str, ...]) -> str:
    """The layer of the module at `parts` (its path inside explorer/, or its dotted name)."""
    top = parts[0].removesuffix(".py")
    if top == "families" and len(parts) > 2 and parts[2].removesuffix(".py") + ".py" not in NETWORK:
        return "family operations"
    return top


def test_a_layer_imports_only_its_own_and_those_above_it():
    import ast

    rank = {name: i for i, name in enumerate(LAYERS)}
    assert len(rank) == len(LAYERS)
    found = []
    for path in EXPLORER.rglob("*.py"):
        parts = path.relative_to(EXPLORER).parts
        if parts[0] == "__init__.py":
            continue
        own = _layer(parts)
        assert own in rank, f"{path}: a layer the list does not have"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("explorer"):
                targets = ([f"explorer.{a.name}" for a in node.names]
                           if node.module == "explorer" else [node.module])
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("explorer.")]
            else:
                continue
            for target in targets:
                layer = _layer(tuple(target.split(".")[1:]) or ("__init__",))
                if layer in rank and rank[layer] > rank[own]:
                    found.append(f"{path.relative_to(EXPLORER)}:{node.lineno} imports {target} "
                                 f"({layer}, below {own})")
    assert found == [], found


def _module_imports() -> dict[str, set[str]]:
    """Each explorer module → the explorer modules its body imports when it is imported (imports
    inside functions run later, on first use, and are left out)."""
    import ast

    names = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
             for p in EXPLORER.rglob("*.py")}

    def known(dotted: str) -> str:
        while dotted not in names and "." in dotted:
            dotted = dotted.rsplit(".", 1)[0]
        return dotted

    graph = {}
    for name, path in names.items():
        out = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("explorer"):
                out |= {known(f"{node.module}.{a.name}") for a in node.names}
            elif isinstance(node, ast.Import):
                out |= {known(a.name) for a in node.names if a.name.startswith("explorer")}
        graph[name] = out - {name}
    return graph


def test_no_chain_of_imports_is_more_than_ten_modules_deep():
    """Importing a module imports at most nine more in a row: a reader following one import at a
    time reaches the bottom in ten files. (14 deep when the layout was redrawn.)"""
    graph = _module_imports()
    chain: dict[str, tuple[str, ...]] = {}  # a module -> the longest chain its import starts
    visiting: list[str] = []

    def deepest(name: str) -> tuple[str, ...]:
        if name not in chain:
            assert name not in visiting, f"an import circle: {' -> '.join((*visiting, name))}"
            visiting.append(name)
            below = [deepest(m) for m in graph[name] if m in graph]
            visiting.pop()
            chain[name] = (name, *max(below, key=len, default=()))
        return chain[name]

    longest = max((deepest(m) for m in graph), key=len)
    assert len(longest) <= 10, " -> ".join(longest)
