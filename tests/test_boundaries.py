"""Architecture and safety guards read from the source: the backend stays free of Streamlit and
never unpickles; the pages cap their caches and uploads and render no HTML built from input."""

import ast
import re
import tomllib
from pathlib import Path

from explorer.runs import store
from explorer.runs.checkpoints import WEIGHTS

ROOT = Path(__file__).resolve().parent.parent


def backend_files():
    return [p for p in (ROOT / "explorer").rglob("*.py") if "ui" not in p.relative_to(ROOT / "explorer").parts]


def test_backend_does_not_import_streamlit():
    offenders = [str(p) for p in backend_files()
                 if re.search(r"^\s*(import|from)\s+streamlit", p.read_text(), re.M)]
    assert offenders == []


def test_nothing_unpickles_model_files():
    pattern = re.compile(r"pickle\.loads?\(|torch\.load\(|allow_pickle\s*=\s*True")
    files = [*(ROOT / "explorer").rglob("*.py"), ROOT / "app.py"]
    offenders = [str(p) for p in files if p.exists() and pattern.search(p.read_text())]
    assert offenders == []


def test_only_tests_import_from_tests():
    """Code shared by the tests and anything else (benchmarks, scripts) lives in harness/."""
    files = [p for p in ROOT.rglob("*.py")
             if not {".venv", "tests", ".git"} & set(p.relative_to(ROOT).parts)]
    pattern = re.compile(r"^\s*(from\s+tests(\.|\s+import)|import\s+tests\b)", re.M)
    assert [str(p) for p in files if pattern.search(p.read_text())] == []


UI = ROOT / "explorer" / "ui"


def _calls(tree: ast.AST, dotted: str) -> list[ast.Call]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == dotted:
            out.append(node)
    return out


def test_the_streamlit_config_has_small_limits_and_safe_defaults():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = config["server"]
    assert 1 <= server["maxUploadSize"] <= 50  # megabytes
    assert server["maxMessageSize"] <= 200
    assert server["address"] == "127.0.0.1"  # a room is served only on purpose (README)
    assert server["enableXsrfProtection"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "none"  # no tracebacks for students
    readme = (ROOT / "README.md").read_text()
    assert "## Serving a class" in readme and "server.maxUploadSize" in readme
    # Every shipped model can still be shared through the upload.
    largest = max(p.stat().st_size for p in store.PRETRAINED_DIR.glob(f"*/{WEIGHTS}"))
    assert largest < server["maxUploadSize"] * 2**20


def test_every_uploader_is_typed_and_no_larger_than_the_app_limit():
    limit = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    for path in [ROOT / "app.py", *sorted(UI.rglob("*.py"))]:
        for call in _calls(ast.parse(path.read_text()), "st.file_uploader"):
            keywords = {k.arg: k.value for k in call.keywords}
            assert "type" in keywords, f"{path.name}: an uploader without a file type"
            if "max_upload_size" in keywords:
                assert ast.literal_eval(keywords["max_upload_size"]) <= limit["maxUploadSize"]


def _module_constants(tree: ast.Module) -> dict[str, str]:
    """Names bound exactly once in the whole file, at module level, to a string literal (never a
    parameter, loop variable or anything reassigned)."""
    stores: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stores[node.id] = stores.get(node.id, 0) + 1
        elif isinstance(node, ast.arg):
            stores[node.arg] = stores.get(node.arg, 0) + 2  # a parameter is never a constant
    return {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name) and stores.get(t.id) == 1
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}


def _is_constant_text(arg: ast.expr, constants: dict[str, str], modules: dict[str, dict]) -> bool:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return True
    if isinstance(arg, ast.Name):
        return arg.id in constants
    if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name):
        return arg.attr in modules.get(arg.value.id, {})
    return False  # f-strings, .format(), concatenation with variables, calls


def test_nothing_is_rendered_as_raw_html_unless_it_is_a_constant():
    files = [ROOT / "app.py", *sorted(UI.rglob("*.py"))]
    trees = {p: ast.parse(p.read_text()) for p in files}
    modules = {p.stem: _module_constants(t) for p, t in trees.items()}
    # The audited exceptions: the student's cookie, a script around a value that the function
    # first checks to be a token (URL-safe base64) and nothing else; a follower's move to the
    # teacher's view, around an address first checked to be URL-safe characters.
    audited = {("class_parts.py", "_set_cookie"), ("class_follow.py", "_navigate")}
    for path, tree in trees.items():
        constants = _module_constants(tree)
        skipped = set()
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef) and (path.name, fn.name) in audited:
                assert "fullmatch" in ast.unparse(fn), f"{fn.name} no longer checks its value"
                skipped |= {id(n) for n in ast.walk(fn)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or id(node) in skipped:
                continue
            func = ast.unparse(node.func)
            raw = any(k.arg == "unsafe_allow_html" and not (
                isinstance(k.value, ast.Constant) and k.value.value is False) for k in node.keywords)
            if raw or func in ("st.html", "html", "components.html", "st.components.v1.html",
                               "st.iframe", "components.iframe"):
                assert node.args and _is_constant_text(node.args[0], constants, modules), (
                    f"{path.name}:{node.lineno} renders non-constant HTML: {ast.unparse(node)}")


def test_every_streamlit_cache_is_capped():
    uncapped = []
    for path in [ROOT / "app.py", *sorted(UI.rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for deco in node.decorator_list:
                name = ast.unparse(deco.func if isinstance(deco, ast.Call) else deco)
                if name not in ("st.cache_resource", "st.cache_data"):
                    continue
                keywords = {k.arg for k in deco.keywords} if isinstance(deco, ast.Call) else set()
                arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                if arguments and not keywords & {"max_entries", "ttl"}:  # no arguments: one entry
                    uncapped.append(f"{path.name}:{node.lineno} {node.name}")
    assert not uncapped, f"caches without max_entries grow with every model and setting: {uncapped}"


# What the pages and their parts may import of the backend: each layer's package (its front door,
# explorer/frontdoor.py), the error types, the escaping of user text and the numpy-only image
# helpers; figures/ and ui/.
DOORS = {"explorer.analysis", "explorer.classroom", "explorer.data", "explorer.families",
         "explorer.jobs", "explorer.lessons", "explorer.runs", "explorer.training"}
SHARED = {"explorer.errors", "explorer.images", "explorer.usertext"}


def _imported_modules(path: Path) -> set[str]:
    """The explorer modules a file imports (``from explorer.a import b`` counts explorer.a.b when
    b is a module, else explorer.a), wherever in the file the import sits."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("explorer"):
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                file = ROOT / dotted.replace(".", "/")
                is_module = file.with_suffix(".py").is_file() or (file / "__init__.py").is_file()
                found.add(dotted if is_module else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("explorer")}
    return found


def test_the_ui_imports_the_backend_only_through_the_front_doors():
    def beyond(module: str) -> bool:
        return not (module in DOORS | SHARED or module == "explorer"
                    or module.startswith(("explorer.ui", "explorer.figures")))

    files = [ROOT / "app.py", *sorted(UI.rglob("*.py"))]
    around = {path.name: sorted(filter(beyond, _imported_modules(path))) for path in files}
    assert {name: modules for name, modules in around.items() if modules} == {}, (
        "the UI reaches around a front door: ask the package for the name instead "
        "(add it to its OFFERS)")
    # "from explorer import x": only a door, the shared modules, figures or ui.
    named = {f"explorer.{a.name}" for path in files for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.ImportFrom) and node.module == "explorer" for a in node.names}
    assert named <= DOORS | SHARED | {"explorer.ui", "explorer.figures"}, named


def test_every_name_a_door_offers_is_there_and_hides_no_module():
    import importlib
    import pkgutil

    from explorer.frontdoor import offered

    for door in sorted(DOORS):
        package = importlib.import_module(door)
        offers = offered(getattr(package, "OFFERS", {}))
        modules = {m.name for m in pkgutil.iter_modules(package.__path__)}
        assert not set(offers) & modules, f"{door} offers a name that is also a module's"
        for name in offers:
            assert getattr(package, name) is not None, f"{door}.{name}"
            assert name in dir(package)
        try:
            package.no_such_name  # noqa: B018
        except AttributeError as e:
            assert "no_such_name" in str(e)
        else:
            raise AssertionError(f"{door} answers a name it does not offer")


def test_no_test_module_imports_another():
    """What tests share lives in helper modules (tests/apptest_helpers.py, hostile.py, drawings.py,
    browser/helpers.py): a test module imported by another runs its tests' imports twice and
    breaks when it moves."""
    pattern = re.compile(r"^\s*(from\s+tests(\.\w+)*\.test_\w+\s+import|import\s+tests(\.\w+)*\.test_)"
                         r"|[\"']tests(\.\w+)*\.test_\w+[\"']", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("*.py")
                 if pattern.search(p.read_text())]
    assert offenders == []
