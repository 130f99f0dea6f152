"""The bureau's printed layout for the documents the engine generates (task contracts, ranked lists,
decision lists, public notices, certificates, recovery notices): A4 portrait or landscape, the
issuing body above a centred title, numbered headings, paragraphs, ruled tables with a repeated
header row, a signature and seal block, and page numbers "第 n 页 共 m 页". Text is set in
Adobe's standard Chinese font STSong-Light (a CID font every PDF reader carries, so nothing is
embedded and pdftotext reads the text back). Callers describe the document as blocks; this module
only typesets them, so the wording stays with the rule that owns it."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from typing import Sequence

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (LongTable, PageBreak, Paragraph, SimpleDocTemplate, Spacer,
                                TableStyle)

FONT = "STSong-Light"
ISSUER = "市科学技术局"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_BASE = ParagraphStyle("body", fontName=FONT, fontSize=11, leading=17, wordWrap="CJK")
_STYLES = {
    "issuer": ParagraphStyle("issuer", parent=_BASE, fontSize=12, alignment=TA_CENTER),
    "title": ParagraphStyle("title", parent=_BASE, fontSize=18, leading=26, alignment=TA_CENTER,
                            spaceBefore=4, spaceAfter=10),
    "subtitle": ParagraphStyle("subtitle", parent=_BASE, alignment=TA_CENTER, spaceAfter=8),
    "heading": ParagraphStyle("heading", parent=_BASE, fontSize=13, leading=20, spaceBefore=8,
                              spaceAfter=4),
    "body": ParagraphStyle("para", parent=_BASE, firstLineIndent=22, spaceAfter=4),
    "cell": ParagraphStyle("cell", parent=_BASE, fontSize=9.5, leading=13),
    "right": ParagraphStyle("right", parent=_BASE, alignment=TA_RIGHT),
}


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Table:
    """A ruled table; widths are shares of the text width (they need not add up to 1)."""
    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    widths: Sequence[float] | None = None
    total: Sequence[object] | None = None  # a bold last row (sums)


@dataclass(frozen=True)
class Signatures:
    """Who signs and seals at the end: (party, name or empty for a blank line)."""
    parties: Sequence[tuple[str, str]]
    dated: date | None = None


@dataclass(frozen=True)
class NewPage:
    pass


Block = Heading | Text | Table | Signatures | NewPage


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)
    subtitle: str = ""
    issuer: str = ISSUER
    wide: bool = False  # landscape, for long tables


def render(document: Document) -> bytes:
    """The document as PDF bytes."""
    out = io.BytesIO()
    size = landscape(A4) if document.wide else A4
    pdf = SimpleDocTemplate(out, pagesize=size, leftMargin=22 * mm, rightMargin=22 * mm,
                            topMargin=20 * mm, bottomMargin=20 * mm, title=document.title,
                            author=document.issuer)
    story: list = [Paragraph(_escape(document.issuer), _STYLES["issuer"]),
                   Paragraph(_escape(document.title), _STYLES["title"])]
    if document.subtitle:
        story.append(Paragraph(_escape(document.subtitle), _STYLES["subtitle"]))
    for block in document.blocks:
        story.extend(_flow(block, pdf.width))
    pdf.build(story, onFirstPage=_page_number, onLaterPages=_page_number, canvasmaker=_NumberedCanvas)
    return out.getvalue()


def amount(value: float | int | None) -> str:
    """Yuan as the bureau prints them: thousands separated, two decimals ("1,250,000.00")."""
    return "" if value is None else f"{float(value):,.2f}"


def _flow(block: Block, width: float) -> list:
    if isinstance(block, Heading):
        return [Paragraph(_escape(block.text), _STYLES["heading"])]
    if isinstance(block, Text):
        return [Paragraph(_escape(block.text), _STYLES["body"])]
    if isinstance(block, Table):
        return [_table(block, width), Spacer(1, 6)]
    if isinstance(block, Signatures):
        return _signatures(block)
    return [PageBreak()]


def _table(block: Table, width: float) -> LongTable:
    shares = list(block.widths or [1] * len(block.header))
    widths = [width * share / sum(shares) for share in shares]
    cell = _STYLES["cell"]
    data = [[Paragraph(_escape(str(h)), cell) for h in block.header]]
    data += [[Paragraph(_escape(_text(v)), cell) for v in row] for row in block.rows]
    if block.total is not None:
        data.append([Paragraph("<b>%s</b>" % _escape(_text(v)), cell) for v in block.total])
    table = LongTable(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    return table


def _signatures(block: Signatures) -> list:
    flow: list = [Spacer(1, 18)]
    for party, name in block.parties:
        flow.append(Paragraph(_escape(f"{party}（盖章）：{name or '________________'}"),
                              _STYLES["right"]))
        flow.append(Spacer(1, 10))
    if block.dated is not None:
        day = block.dated
        flow.append(Paragraph(f"{day.year}年{day.month}月{day.day}日", _STYLES["right"]))
    return flow


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return amount(value)
    return str(value)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br/>")


def _page_number(canvas, doc) -> None:  # drawn by _NumberedCanvas once the page count is known
    return None


class _NumberedCanvas:
    """A canvas that defers each page so the footer can say how many pages there are."""

    def __new__(cls, *args, **kwargs):
        from reportlab.pdfgen.canvas import Canvas

        class Numbered(Canvas):
            def __init__(self, *a, **k):
                super().__init__(*a, **k)
                self._pages: list[dict] = []

            def showPage(self):
                self._pages.append(dict(self.__dict__))
                self._startPage()

            def save(self):
                count = len(self._pages)
                for state in self._pages:
                    self.__dict__.update(state)
                    self.setFont(FONT, 9)
                    self.drawCentredString(self._pagesize[0] / 2, 10 * mm,
                                           f"第 {self._pageNumber} 页 共 {count} 页")
                    super().showPage()
                super().save()

        return Numbered(*args, **kwargs)


__all__ = ["Document", "Heading", "Text", "Table", "Signatures", "NewPage", "render", "amount"]
