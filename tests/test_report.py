"""Printed outputs (issue 11, point 3): the county progress report as PDF and HTML, the
village 公示 notice as PDF, and the `county-report` flow's files and artifacts.

One small county (tests/support/county.py) runs the real cycle once for the module:
assistance_cycle, review from drafted minutes (so items are in publicity), two evaluation
periods. Every household gets a phone and a bank account first, so "no personal number in
the text" is checked against numbers that exist."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner
from zhucun.models import Cadre, Household, Official, Village

from tests.support.county import COUNTY, SeedInfo, add_surveys, seed_county
from tests.support.lifecycle_fixtures import survey
from zhucun.cli import app
from zhucun.reports.fmt import yuan, zh_date

YEAR = 2026
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
REAL_NAMES = ("张三丰", "李秀英", "王建国", "欧阳明")
runner = CliRunner()


def ensure_poppler() -> None:
    """pdftoppm/pdftotext (Debian poppler-utils), installed when missing; skip only if the
    package cannot be installed (no root, no registry)."""
    if shutil.which("pdftoppm") and shutil.which("pdftotext"):
        return
    if shutil.which("apt-get"):
        for cmd in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "poppler-utils"],
        ):
            try:
                subprocess.run(cmd, capture_output=True, timeout=600)
            except (OSError, subprocess.TimeoutExpired):
                break
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext")):
        pytest.skip("poppler-utils missing and `apt-get install poppler-utils` failed")


def save_screenshot(page: Path, name: str) -> None:
    """Refresh docs/screenshots (a 60 dpi page, 8-bit palette to stay small) only when asked
    (ZHUCUN_UPDATE_SCREENSHOTS=1): a plain test run leaves the working tree alone."""
    if not os.environ.get("ZHUCUN_UPDATE_SCREENSHOTS"):
        return
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    Image.open(page).convert("RGB").quantize(colors=64).save(SCREENSHOTS / name, optimize=True)


def pdf_text(pdf: Path) -> str:
    ensure_poppler()
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    )
    return out.stdout.decode("utf-8")


def pdf_pages(pdf: Path, out_prefix: Path, dpi: int = 60) -> list[Path]:
    ensure_poppler()
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out_prefix)],
        capture_output=True,
        check=True,
    )
    return sorted(out_prefix.parent.glob(out_prefix.name + "*.png"))


@pytest.fixture(scope="module")
def county(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedInfo]:
    from zhucun.flows.cycle import assistance_cycle
    from zhucun.flows.evaluation import evaluate_progress

    from zhucun.cli.commands_cycle import demo_review
    from zhucun.db import get_engine
    from zhucun.policy import default_policy, seed_policy
    from zhucun.settings import reset_settings

    data = tmp_path_factory.mktemp("report") / "zhucun-data"
    mp = pytest.MonkeyPatch()
    mp.setenv("ZHUCUN_DATA_DIR", str(data))
    mp.delenv("ZHUCUN_DATABASE_URL", raising=False)
    reset_settings()
    try:
        engine = get_engine()
        SQLModel.metadata.create_all(engine)
        with Session(engine) as s:
            seed_policy(s)
            info = seed_county(s)
            for i, hid in enumerate(info.households):
                s.execute(
                    update(Household)
                    .where(Household.household_id == hid)
                    .values(phone=f"139{10_000_000 + i:08d}", bank_account=f"6217{i:015d}")
                )
            v0 = [h for h in info.poor_households if h.startswith(f"H{info.poor_villages[0][-3:]}")]
            for hid, name in zip(v0, REAL_NAMES, strict=False):
                s.execute(
                    update(Household).where(Household.household_id == hid).values(head_name=name)
                )
            s.commit()
        assistance_cycle(COUNTY, YEAR)
        demo_review(COUNTY, YEAR, data / "minutes.csv")
        line = default_policy(YEAR, "east").poverty_line_yuan
        with Session(engine) as s:
            poor = info.poor_households
            add_surveys(
                s, [survey(h, date(YEAR, 6, 5), line * 1.6) for h in poor[: len(poor) // 2]]
            )
            s.commit()
            evaluate_progress(COUNTY, f"{YEAR}-06")
            exited = poor[: len(poor) // 2]
            add_surveys(
                s,
                [survey(h, date(YEAR, 9, 5), line * 1.02) for h in exited[:6]]
                + [survey(h, date(YEAR, 9, 5), line * 0.5) for h in exited[6:9]]
                + [survey(h, date(YEAR, 9, 5), line * 1.7) for h in poor[len(poor) // 2 :][:10]],
            )
            s.commit()
            evaluate_progress(COUNTY, f"{YEAR}-09")
        yield info
    finally:
        mp.undo()
        reset_settings()


def personal_numbers() -> list[str]:
    """Every ID number and phone of the county, read from the database."""
    from zhucun.db import get_engine

    with Session(get_engine()) as s:
        values: list[Any] = []
        for cols in (
            (Household.head_id_number, Household.phone, Household.bank_account),
            (Cadre.id_number,),
            (Official.id_number,),
        ):
            for row in s.execute(select(*cols)):
                values += [v for v in row if v]
    assert len(values) > 300
    return values


def village_name(code: str) -> str:
    from zhucun.db import get_engine

    with Session(get_engine()) as s:
        return s.get(Village, code).name  # type: ignore[union-attr]


def assert_no_personal_data(text: str) -> None:
    flat = re.sub(r"\s+", "", text)
    leaked = [v for v in personal_numbers() if v in flat]
    assert leaked == [], f"personal numbers in the output: {leaked[:3]}"
    assert not re.search(r"\d{17}[\dXx]", flat)


def test_report_pdf_renders_chinese_sections_and_nothing_personal(
    county: SeedInfo, tmp_path: Path
) -> None:
    out = tmp_path / "report.pdf"
    res = runner.invoke(app, ["report", "--county", COUNTY, "--year", str(YEAR), "--out", str(out)])
    assert res.exit_code == 0, res.output
    pages = pdf_pages(out, tmp_path / "page")
    assert pages and pages[0].stat().st_size > 5_000
    text = pdf_text(out)
    flat = re.sub(r"\s+", "", text)
    for heading in (
        "驻村帮扶工作进展报告",
        "农户脱贫状态",
        "脱贫与返贫监测",
        "致贫原因",
        "帮扶措施",
        "资金安排",
        "驻村工作队",
        "已脱贫",
        "阜平镇",
    ):
        assert heading in flat, heading
    assert village_name(county.poor_villages[0]) in flat
    assert re.search(r"¥\d{1,3}(,\d{3})+", flat)
    assert "2026年6月" in flat and "年" in zh_date(date.today())
    assert_no_personal_data(text)
    for name in REAL_NAMES:
        assert name not in flat and name[0] + "*" not in flat  # not even masked: counts only
    assert "户主H" not in flat
    save_screenshot(pages[0], "report-page1.png")


def test_report_html_inlines_the_charts(county: SeedInfo, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    res = runner.invoke(app, ["report", "--county", COUNTY, "--year", str(YEAR), "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text("utf-8")
    assert html.count('src="data:image/png;base64,') >= 5
    for heading in ("一、农户脱贫状态", "三、致贫原因", "五、资金安排", "六、驻村工作队"):
        assert f"<h2>{heading}" in html
    assert village_name(county.poor_villages[0]) in html and "¥" in html
    assert_no_personal_data(html)
    assert not any(name in html for name in REAL_NAMES)


def test_report_refuses_unknown_county_and_suffix(county: SeedInfo, tmp_path: Path) -> None:
    bad = runner.invoke(
        app, ["report", "--county", "999999", "--year", "2026", "--out", str(tmp_path / "r.pdf")]
    )
    assert bad.exit_code == 1 and "999999" in bad.output
    txt = runner.invoke(
        app, ["report", "--county", COUNTY, "--year", "2026", "--out", str(tmp_path / "r.txt")]
    )
    assert txt.exit_code == 1 and ".pdf or .html" in txt.output


def test_notice_pdf_names_heads_hides_personal_data_and_keeps_the_markdown(
    county: SeedInfo, tmp_path: Path
) -> None:
    v0 = county.poor_villages[0]
    out = tmp_path / "notice.pdf"
    res = runner.invoke(
        app, ["review", "notice", "--village", v0, "--year", str(YEAR), "--pdf", str(out)]
    )
    assert res.exit_code == 0, res.output
    pages = pdf_pages(out, tmp_path / "notice")
    assert pages
    text = pdf_text(out)
    flat = re.sub(r"\s+", "", text)
    assert "帮扶措施公示" in flat and village_name(v0) in flat and "阜平镇人民政府" in flat
    assert "公示期" in flat and "12317" in flat and re.search(r"¥\d", flat)
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日至\d{4}年\d{1,2}月\d{1,2}日", flat)
    for name in REAL_NAMES:  # named in full: villagers must know whom to object to
        assert name in flat
    assert "健康扶贫" not in flat and "残疾人补贴" not in flat
    assert_no_personal_data(text)
    save_screenshot(pages[0], "notice.png")

    md = runner.invoke(app, ["review", "notice", "--village", v0, "--year", str(YEAR)])
    assert md.exit_code == 0 and "| 序号 | 户主姓名 |" in md.output and REAL_NAMES[0] in md.output


def test_county_report_flow_writes_files_and_artifacts(county: SeedInfo) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from zhucun.flows.common import artifact_key
    from zhucun.flows.report import county_report, report_dir

    result = county_report(COUNTY, YEAR)
    files = [Path(f) for f in result["files"]]
    assert [f.suffix for f in files] == [".pdf", ".html"] and all(f.exists() for f in files)
    assert files[0].parent == report_dir()
    key = artifact_key("county-report", COUNTY, YEAR)
    with get_client(sync_client=True) as client:
        md = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
        images = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[f"{key}-{c}" for c in result["charts"]])
            )
        )
    assert md and md[0].type == "markdown"
    body = str(md[0].data)
    assert "![" in body and "data:image/png;base64," in body and "| 状态 | 户数 | 占比 |" in body
    assert_no_personal_data(body)
    assert {a.type for a in images} == {"image"} and len(images) == len(result["charts"])


def test_yuan_and_dates_as_an_office_writes_them() -> None:
    assert yuan(1234567.4) == "¥1,234,567" and yuan(0) == "¥0" and yuan(-1500) == "-¥1,500"
    assert zh_date(date(2026, 3, 2)) == "2026年3月2日"
