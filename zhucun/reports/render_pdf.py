"""A4 PDFs with reportlab: the county report here, and the building blocks the 公示 notice
shares (`zhucun.reports.notice`).

Chinese text uses reportlab's built-in CID font STSong-Light (宋体, the face of official
documents): the PDF names the font and the reader supplies its glyphs, so no font file is
needed on the machine that writes it, and the file stays small."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from zhucun.reports.model import CountyReport, TableData
from zhucun.reports.render_html import is_number

FONT = "STSong-Light"
MARGIN = 18 * mm
CONTENT_WIDTH = A4[0] - 2 * MARGIN


@lru_cache(maxsize=1)
def styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles in the CID font; CJK word wrap breaks lines between any characters."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    base = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=16, wordWrap="CJK")
    return {
        "body": base,
        "title": ParagraphStyle(
            "title", parent=base, fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=4
        ),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontSize=10, alignment=TA_CENTER, textColor=colors.grey
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontSize=13.5, leading=20, spaceBefore=10, spaceAfter=4
        ),
        "caption": ParagraphStyle("caption", parent=base, fontSize=10, spaceBefore=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=12),
        "num": ParagraphStyle("num", parent=base, fontSize=9, leading=12, alignment=TA_RIGHT),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
    }


def esc(text: str) -> str:
    """Paragraph text is mini-markup: escape what a name or an item might contain."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pdf_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float] | None = None
) -> Table:
    """A ruled table with a shaded, repeated header row; numbers right-aligned."""
    st = styles()
    data = [[Paragraph(esc(h), st["cell"]) for h in headers]]
    data += [
        [Paragraph(esc(c), st["num"] if is_number(c) else st["cell"]) for c in row] for row in rows
    ]
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3e5e3")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def png_image(png: bytes, max_width: float = CONTENT_WIDTH) -> Image:
    img = Image(io.BytesIO(png))
    scale = min(1.0, max_width / img.imageWidth) if img.imageWidth else 1.0
    # 100 dpi PNG on a 72 pt/inch page: 0.72 pt per pixel keeps it sharp and page-wide.
    scale = min(scale, 0.72 * 1.3)
    img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
    return img


def footer(text: str) -> Callable[[Any, Any], None]:
    """A page footer: `text` on the left, the page number (第 N 页) on the right."""

    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(MARGIN, 10 * mm, text)
        canvas.drawRightString(A4[0] - MARGIN, 10 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    return draw


def build_pdf(story: list[Flowable], title: str, footer_text: str) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=title,
        author="zhucun",
        subject=title,
    )
    doc.build(story, onFirstPage=footer(footer_text), onLaterPages=footer(footer_text))
    return buf.getvalue()


def _table_block(t: TableData) -> list[Flowable]:
    st = styles()
    caption = Paragraph(esc(t.caption), st["caption"])
    table = pdf_table(t.headers, t.rows)
    # A short table stays with its caption; a long one may break (its header repeats).
    return [KeepTogether([caption, table])] if len(t.rows) < 15 else [caption, table]


def county_report_pdf(report: CountyReport, charts: dict[str, bytes]) -> bytes:
    st = styles()
    story: list[Flowable] = [
        Paragraph(esc(report.title), st["title"]),
        Paragraph(esc(report.subtitle), st["subtitle"]),
        Spacer(1, 6 * mm),
    ]
    for section in report.sections:
        story.append(Paragraph(esc(section.title), st["h2"]))
        story += [Paragraph(esc(n), st["body"]) for n in section.notes]
        for key in section.charts:
            if key in charts:
                story += [Spacer(1, 2 * mm), png_image(charts[key])]
        for t in section.tables:
            story += _table_block(t)
        story.append(Spacer(1, 3 * mm))
    story.append(Spacer(1, 6 * mm))
    story.append(Paragraph("本报告仅含汇总数字，不含任何个人信息。", st["subtitle"]))
    return build_pdf(story, report.title, f"{report.title}　{report.subtitle}")
