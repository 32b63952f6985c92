"""The screens the app is checked and photographed on, and its pages' addresses, read from the
app's one page table (the default page, the latent map, lives at the root)."""

from __future__ import annotations

from dataclasses import dataclass

from explorer.ui.pages import PAGES

PAGE_PATHS = tuple(spec.url_path or "" for spec in PAGES.values())


@dataclass(frozen=True)
class Screen:
    """A browser window, and whether presenter mode is on (``?present=true``)."""

    name: str
    width: int
    height: int
    presenting: bool = False

    @property
    def viewport(self) -> dict[str, int]:
        return {"width": self.width, "height": self.height}

    @property
    def query(self) -> str:
        return "present=true" if self.presenting else ""

    def __str__(self) -> str:
        return f"{self.width}×{self.height}" + (" presenting" if self.presenting else "")


WIDE = Screen("wide", 1400, 900)
PROJECTOR = Screen("projector", 1024, 768)  # a classroom projector, the sidebar open
PRESENTER = Screen("presenter", 1024, 768, presenting=True)
SCREENS = (WIDE, PROJECTOR, PRESENTER)
WIDE_PRESENTER = Screen("wide presenter", 1400, 900, presenting=True)  # a large screen in class
