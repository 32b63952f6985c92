"""Architecture guards: the backend stays free of Streamlit and never unpickles."""

import re
from pathlib import Path

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
