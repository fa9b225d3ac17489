"""The page: A4 geometry, fonts, colours, and what is printed on every page.

Japanese text is set in IPAexGothic (IPAexゴシック, IPA Font License v1.0), the TrueType
font the `matplotlib-fontja` package ships: ReportLab embeds the subset of glyphs a
document uses (FontFile2), so it reads the same on a machine without Japanese fonts and
nothing is downloaded at run time. Latin text in English documents uses Helvetica (one of
the 14 fonts every PDF reader has), which holds only WinAnsi (cp1252) characters.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

CJK_FONT: Final = "IPAexGothic"
"""The Japanese gothic font, embedded as a subset (see `japanese_font_file`)."""

FONT_PACKAGE: Final = "matplotlib_fontja"
FONT_FILE: Final = ("fonts", "ipaexg.ttf")

LATIN_FONT: Final = "Helvetica"
LATIN_BOLD: Final = "Helvetica-Bold"

MARGIN: Final = 16 * mm
WIDTH: Final = A4[0] - 2 * MARGIN
"""The width of the frame the content flows in."""

GREY: Final = colors.HexColor("#666666")
RULE: Final = colors.HexColor("#999999")
SHADE: Final = colors.HexColor("#eef1f5")
HEAD: Final = colors.HexColor("#dde3ea")
SANDBOX: Final = colors.HexColor("#c0392b")


def japanese_font_file() -> Path:
    """Where the installed `matplotlib-fontja` keeps IPAexGothic.

    Found from the package's location without importing it: importing it would load
    matplotlib and change its settings, and the invoice needs only the font file.
    """
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {FONT_PACKAGE} package (IPAexGothic) is not installed")
    return Path(next(iter(spec.submodule_search_locations)), *FONT_FILE)


def register_fonts() -> None:
    """Register the TrueType font once per process (ReportLab subsets and embeds it)."""
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(CJK_FONT, str(japanese_font_file())))


def is_latin(text: str) -> bool:
    """Whether Helvetica's encoding (WinAnsi, cp1252) holds every character of `text`."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def script_runs(text: str) -> list[str]:
    """`text` cut where it changes between characters Helvetica has and those it lacks."""
    runs: list[str] = []
    for char in text:
        if runs and is_latin(runs[-1][-1]) == is_latin(char):
            runs[-1] += char
        else:
            runs.append(char)
    return runs


def _draw(canvas: Any, x: float, y: float, text: str, size: float, *, right: bool = False) -> None:
    canvas.setFont(LATIN_FONT if is_latin(text) else CJK_FONT, size)
    if right:
        canvas.drawRightString(x, y, text)
    else:
        canvas.drawString(x, y, text)


def running_header(left: str, right: str) -> Callable[[Any, Any], None]:
    """A page callback printing which document a later page continues: `left` (title
    and number) and `right` (the recipient) above a rule."""

    def draw(canvas: Any, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFillColor(GREY)
        top = A4[1] - 12 * mm
        _draw(canvas, MARGIN, top, left, 8)
        _draw(canvas, A4[0] - MARGIN, top, right, 8, right=True)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.4)
        canvas.line(MARGIN, top - 2 * mm, A4[0] - MARGIN, top - 2 * mm)
        canvas.restoreState()

    return draw


def _watermark(canvas: Any, text: str) -> None:
    """`text` large, pale and diagonal across the page (a sandbox tenant's documents)."""
    canvas.saveState()
    canvas.setFillColor(SANDBOX, alpha=0.12)
    canvas.translate(A4[0] / 2, A4[1] / 2)
    canvas.rotate(35)
    canvas.setFont(LATIN_BOLD, 96)
    canvas.drawCentredString(0, -30, text)
    canvas.restoreState()


def numbered_canvas(footer: str, page_label: str, *, watermark: str | None = None) -> type[Canvas]:
    """A canvas that holds its pages back until the end, to print `footer` and
    `page_label` (with `{page}` and `{pages}`) at the foot of every page, and
    `watermark` across it."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802  # reportlab's name
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            pages = len(self._held)
            for number, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                if watermark:
                    _watermark(self, watermark)
                self.saveState()
                self.setFillColor(GREY)
                _draw(self, MARGIN, 10 * mm, footer, 7)
                page = page_label.format(page=number, pages=pages)
                _draw(self, A4[0] - MARGIN, 10 * mm, page, 7, right=True)
                self.restoreState()
                super().showPage()
            super().save()

    return NumberedCanvas
