"""scripts/screenshots.py knows every page of the app's page table: ``--pages`` takes the table's
names (and addresses) and refuses a name it does not know, instead of shooting nothing."""

import importlib.util
from pathlib import Path

import pytest

from explorer.ui.pages import PAGES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def screenshots():
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "scripts/screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_page_of_the_table_can_be_shot_by_name(screenshots):
    assert screenshots.page_names(None) == list(PAGES)
    for key, spec in PAGES.items():
        assert screenshots.page_names([key]) == [key]
        if spec.url_path:
            assert screenshots.page_names([spec.url_path]) == [key]  # rate-distortion too
    assert screenshots.page_names(["teacher", "map"]) == ["map", "teacher"]  # the table's order


def test_an_unknown_page_is_refused_with_the_known_ones(screenshots):
    with pytest.raises(ValueError, match="rate_distortion") as e:
        screenshots.page_names(["map", "holes"])
    assert "holes" in str(e.value)
