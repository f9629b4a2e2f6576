"""The village 公示 notice as an A4 PDF, from the same rows `zhucun review notice` gathers
for its markdown (`zhucun.rules.review.NoticeRow` and the plan tuple).

A 公示 exists so that villagers can object, so it names the household heads in full, as
the markdown notice does; what the rules keep off a public notice never appears: no ID
number, phone, bank account or health condition (measures that reveal health are shown
neutrally, `public_measures`), and the whole text is checked once more (`assert_public`)
before it is drawn."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer
from sqlmodel import Session

from zhucun.models import County, Township, Village
from zhucun.reports.fmt import named, today_china, yuan, zh_date
from zhucun.reports.render_pdf import CONTENT_WIDTH, build_pdf, esc, pdf_table, styles
from zhucun.rules.review import NoticeRow, assert_public, public_measures

PlanNotice = tuple[float, Sequence[str], date, date]


@dataclass(frozen=True)
class Place:
    village_code: str
    village_name: str
    township_code: str
    township_name: str
    county_name: str


def place_of(session: Session, village_code: str) -> Place:
    v = session.get(Village, village_code)
    if v is None:
        raise LookupError(f"no village {village_code}")
    t = session.get(Township, v.township_code)
    c = session.get(County, v.county_code)
    return Place(
        village_code,
        v.name,
        v.township_code,
        t.name if t else v.township_code,
        c.name if c else v.county_code,
    )


_ZH_GLOSS = re.compile(
    r"^(?P<en>[^()（）]*?)\s*[（(](?P<zh>[^()（）]*[\u4e00-\u9fff][^()（）]*)[）)]$"
)


def item_zh(item: str) -> str:
    """'broadband to the village (宽带进村)' → '宽带进村': a villager reads the Chinese."""
    m = _ZH_GLOSS.match(item.strip())
    return m.group("zh") if m else item


def _window(opens: date, closes: date) -> str:
    """closes_on is exclusive: the last day anyone may object is the day before."""
    return f"{zh_date(opens)}至{zh_date(closes - timedelta(days=1))}"


def notice_pdf(
    place: Place,
    year: int,
    rows: Sequence[NoticeRow],
    plan: PlanNotice | None = None,
    *,
    today: date | None = None,
) -> bytes:
    st = styles()
    today = today or today_china()
    title = f"{place.village_name}{year}年度帮扶措施公示"
    windows = [(r.opens_on, r.closes_on) for r in rows] + ([plan[2:4]] if plan else [])
    story: list[Flowable] = [
        Paragraph(esc(title), st["title"]),
        Paragraph(
            esc(
                f"{place.county_name} {named(place.township_name, place.township_code)} "
                f"{named(place.village_name, place.village_code)}"
            ),
            st["subtitle"],
        ),
        Spacer(1, 6 * mm),
        Paragraph(
            esc(
                "根据精准扶贫“一户一策”要求，经驻村工作队、村两委和乡镇审核，"
                "现将下列帮扶措施予以公示，接受群众监督。"
                + (
                    f"公示期：{_window(min(o for o, _ in windows), max(c for _, c in windows))}。"
                    if windows
                    else ""
                )
            ),
            st["body"],
        ),
        Spacer(1, 4 * mm),
    ]
    text: list[str] = [title]
    if rows:
        table_rows = []
        for i, r in enumerate(sorted(rows, key=lambda r: r.head_name), 1):
            cells = [
                str(i),
                r.head_name,
                "、".join(public_measures(r.measures)),
                yuan(r.cost_yuan),
                _window(r.opens_on, r.closes_on),
            ]
            table_rows.append(cells)
            text += cells
        widths = [x * CONTENT_WIDTH for x in (0.07, 0.15, 0.33, 0.15, 0.30)]
        story.append(pdf_table(["序号", "户主", "帮扶措施", "金额", "公示期"], table_rows, widths))
        story.append(
            Paragraph(
                esc(f"共 {len(rows)} 户，金额合计 {yuan(sum(r.cost_yuan for r in rows))}。"),
                st["body"],
            )
        )
    else:
        story.append(Paragraph("本期无公示中的户帮扶措施。", st["body"]))
    if plan is not None:
        cost, items, opens, closes = plan
        story += [
            Paragraph(esc(f"村发展规划（公示期 {_window(opens, closes)}）"), st["h2"]),
            Paragraph(
                esc(
                    f"项目 {len(items)} 项，估算总额 {yuan(cost)}："
                    + "；".join(item_zh(i) for i in items)
                    + "。"
                ),
                st["body"],
            ),
        ]
        text += list(items)
    objection = (
        f"如有异议，请在公示期内向{place.township_name}人民政府反映，也可向村两委、"
        "驻村工作队反映，或拨打扶贫监督举报电话 12317。反映情况请实事求是，"
        "并留下联系方式以便核实。"
    )
    # Where to object and who posts it stay on one page: a sheet without its signature
    # block is not a notice anybody can act on.
    story += [
        Spacer(1, 5 * mm),
        KeepTogether(
            [
                Paragraph(esc(objection), st["body"]),
                Spacer(1, 10 * mm),
                Paragraph(esc(f"{place.village_name}村民委员会"), st["right"]),
                Paragraph("驻村工作队", st["right"]),
                Paragraph(esc(zh_date(today)), st["right"]),
            ]
        ),
    ]
    text.append(objection)
    assert_public("\n".join(text))
    return build_pdf(story, title, f"{title}　受理异议：{place.township_name}人民政府")


def write_notice_pdf(
    session: Session,
    village_code: str,
    year: int,
    rows: Sequence[NoticeRow],
    plan: PlanNotice | None,
    out: Path,
    *,
    today: date | None = None,
) -> Path:
    """Write the notice PDF for the rows `review notice` gathered (within its session)."""
    data = notice_pdf(place_of(session, village_code), year, rows, plan, today=today)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out
