"""Screenshots of every page of the app, for the docs: ``docs/screenshots/<page>.png``.

Starts the app the way the browser tests do (runs and caches in a temporary folder, so nothing
touches ``runs/``), opens it in Debian's headless Chromium at 1400×900 on the default model and
saves one picture per page in the sidebar: the latent map with a box selection, and the Train
page after a tiny run (skip that with ``--no-train``). ``--size 1024x768 --present`` shoots a
classroom projector's screen in presenter mode; ``--suffix`` names those pictures apart.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--no-train] [--pages map ...]
        [--size 1024x768] [--present] [--suffix -projector]

``--pages`` takes the names of the app's page table (``explorer/ui/pages/__init__.py``: map,
compare, ..., rate_distortion, diffusion, join, teacher) or their addresses (rate-distortion);
a name the table does not know is refused with the list of those it does.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from explorer.ui.pages import PAGES  # noqa: E402
from harness.app_server import running_app  # noqa: E402
from harness.chromium import VIEWPORT, launch_chromium  # noqa: E402
from harness.page import (  # noqa: E402
    ERRORS,
    RUN_TIMEOUT_MS,
    box_select,
    fill_train_form,
    open_page,
    wait_idle,
)

MAX_BYTES = 400_000
TRAIN_TIMEOUT_MS = 180_000


def save_png(png: bytes, path: Path) -> int:
    """Write `png` small: optimised, and palette-quantised if still over MAX_BYTES."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    if buffer.tell() > MAX_BYTES:
        buffer = io.BytesIO()
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(buffer, "PNG",
                                                                        optimize=True)
    path.write_bytes(buffer.getvalue())
    return len(buffer.getvalue())


def shoot(page: Page, out: Path, name: str) -> None:
    page.mouse.move(5, page.viewport_size["height"] - 5)  # no hover effects in the picture
    size = save_png(page.screenshot(), out / f"{name}.png")
    print(f"  {out / f'{name}.png'}  {size / 1000:.0f} KB", flush=True)


def map_with_selection(page: Page) -> bool:
    """Box-select some points; True if their images appeared (the page is then scrolled)."""
    expect(page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first).to_be_visible()
    box_select(page, (0.45, 0.35, 0.55, 0.5))
    # Leave no hover label behind: pass over an empty corner of the plot, then off it.
    area = page.locator('[data-testid="stPlotlyChart"] .nsewdrag').first.bounding_box()
    if area:
        page.mouse.move(area["x"] + 5, area["y"] + area["height"] - 5, steps=3)
    page.mouse.move(5, page.viewport_size["height"] - 5, steps=3)
    try:
        expect(page.get_by_text("Originals", exact=True)).to_be_visible(timeout=30_000)
    except AssertionError:
        print("  warning: the box selection showed no images on the latent map", flush=True)
        wait_idle(page)
        return False
    wait_idle(page)
    # The chart at the top of the picture (clear of the app's header), the images below it.
    page.locator('[data-testid="stPlotlyChart"]').first.evaluate("""e => {
        e.scrollIntoView({block: 'start'});
        let box = e.parentElement;
        while (box && box.scrollHeight <= box.clientHeight) box = box.parentElement;
        if (box) box.scrollBy(0, -70);
    }""")
    return True


def train_tiny(page: Page) -> None:
    form = fill_train_form(page, "Digits 8×8", {"Epochs": 5, "Code size": 2,
                                                "Run name": "digits-vae-tiny"})
    form.get_by_role("button", name="Train").click()
    expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_be_visible(
        timeout=TRAIN_TIMEOUT_MS)
    wait_idle(page)


def page_names(given: list[str] | None) -> list[str]:
    """The page table's keys to shoot, in the table's order: all of them, or those `given` by key
    or by address; ValueError naming the known pages for one the table does not know."""
    if not given:
        return list(PAGES)
    by_address = {spec.url_path: key for key, spec in PAGES.items() if spec.url_path}
    unknown = [n for n in given if n not in PAGES and n not in by_address]
    if unknown:
        raise ValueError(f"unknown page(s) {', '.join(unknown)}; the pages are "
                         f"{', '.join(PAGES)}")
    wanted = {by_address.get(n, n) for n in given}
    return [key for key in PAGES if key in wanted]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--no-train", action="store_true", help="skip the tiny training run")
    parser.add_argument("--pages", nargs="*", metavar="NAME",
                        help="only these pages, by the page table's names: "
                             + ", ".join(PAGES))
    parser.add_argument("--size", default=f"{VIEWPORT['width']}x{VIEWPORT['height']}",
                        help="the browser window, WIDTHxHEIGHT (a projector: 1024x768)")
    parser.add_argument("--present", action="store_true", help="with presenter mode on")
    parser.add_argument("--suffix", default="", help="appended to each file name")
    args = parser.parse_args()
    try:
        names = page_names(args.pages)
    except ValueError as e:
        parser.error(str(e))
    width, height = (int(v) for v in args.size.lower().split("x"))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="explorer-shots-") as tmp, \
            running_app(Path(tmp)) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(RUN_TIMEOUT_MS)
        problems = []
        # Each page by its address (a presenter's sidebar is folded, its links out of reach).
        for name in names:
            path = PAGES[name].url_path or ""
            open_page(page, server, path, query="present=true" if args.present else "")
            title = page.locator("h1").first.inner_text()
            scrolled = False
            if name == "map":
                scrolled = map_with_selection(page)
            elif name == "train" and not args.no_train:
                train_tiny(page)
            if page.locator(ERRORS).count():
                problems.append(f"{title}: {page.locator(ERRORS).all_inner_texts()}")
            if not scrolled:  # e.g. the Train button scrolled the page: show its top
                page.locator("h1").first.scroll_into_view_if_needed()
            shoot(page, out, name + args.suffix)
        browser.close()
    print(f"done in {time.monotonic() - started:.0f} s")
    for p in problems:
        print(f"error box on {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
