"""`--json` where a script reads the result (issue 11.7): `review notice`, `object`,
`review publicity close`, `up` and `down` print one JSON document on stdout (the lines for a
person go to stderr or nowhere) with codes, IDs, counts, dates and paths — never a name,
ID number, phone, measure, reason or credential. In process (CliRunner), no Prefect server:
`up` is given a stand-in for the processes it would start."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner
from zhucun.models import Publicity, Strategy

from tests.support.review_fixtures import ReviewSeed, seed_review
from zhucun.cli import app

YEAR = 2026
runner = CliRunner()
ID_NUMBER = re.compile(r"\d{17}[\dXx]")
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def as_json(res: Any) -> dict[str, Any]:
    assert res.exit_code == 0, res.output
    text = res.stdout
    assert not ID_NUMBER.search(text) and not PHONE.search(text), text
    return json.loads(text)


@pytest.fixture
def in_publicity(session: Session) -> tuple[ReviewSeed, str, list[str]]:
    """Two households of the first village approved through township: in publicity."""
    seed = seed_review(session, villages=2, households_per_village=4)
    session.commit()
    village = seed.info.poor_villages[0]
    hids = seed.strategies[village][:2]
    for stage, who in (
        ("team", seed.teams[village][0]),
        ("committee", seed.officials(village)["committee_director"]),
        ("township", "T1"),
    ):
        args = [a for h in hids for a in ("--household", h)]
        res = cli("review", "decide", "--year", str(YEAR), "--no-resume", "--reviewer", who,
                  "--stage", stage, "--decision", "approve", *args)  # fmt: skip
        assert res.exit_code == 0, res.output
    return seed, village, hids


def test_notice_json_names_households_by_id_only(
    in_publicity: tuple[ReviewSeed, str, list[str]], tmp_path: Path
) -> None:
    seed, village, hids = in_publicity
    out = tmp_path / "notice.md"
    data = as_json(cli("review", "notice", "--village", village, "--year", str(YEAR),
                       "--out", str(out), "--json"))  # fmt: skip
    assert data["village"] == village and data["village_name"] and data["cycle_year"] == YEAR
    assert [s["household_id"] for s in data["strategies"]] == sorted(hids)
    first = data["strategies"][0]
    assert first["opens_on"] < first["last_day"] and first["cost_yuan"] > 0
    assert data["files"] == {"markdown": str(out), "pdf": None}
    assert "户主" in out.read_text("utf-8")  # the posted notice names the heads ...
    text = json.dumps(data, ensure_ascii=False)
    assert "户主" not in text and "measures" not in text  # ... the JSON does not
    assert not any(seed.info.id_numbers[h] in text for h in hids)


def test_objection_and_closing_json(
    session: Session, in_publicity: tuple[ReviewSeed, str, list[str]]
) -> None:
    _, _, (h0, h1) = in_publicity
    pub = session.scalars(select(Publicity).where(Publicity.subject_id == h0)).one()
    data = as_json(cli("object", "--household", h1, "--year", str(YEAR), "--by", "村民李四",
                       "--reason", "家庭收入不实，电话13812345678", "--on", str(pub.opens_on),
                       "--json"))  # fmt: skip
    assert (data["subject"], data["subject_id"], data["status"]) == ("strategy", h1, "returned")
    assert data["filed_on"] == str(pub.opens_on) and data["cycle_year"] == YEAR
    text = json.dumps(data, ensure_ascii=False)
    assert "李四" not in text and "收入" not in text  # who and why stay in the database
    assert session.scalar(select(Strategy.status).where(Strategy.household_id == h1)) == (
        "returned"
    )

    none_due = as_json(cli("review", "publicity", "close", "--json"))
    assert none_due["closed"] == 0 and none_due["as_of"] is None and none_due["server_date"]
    data = as_json(cli("review", "publicity", "close", "--today", str(pub.closes_on),
                       "--admin-as-of", "--by", "县扶贫办王五", "--reason", "test: ahead",
                       "--json"))  # fmt: skip
    assert data["closed"] == 1 and data["as_of"] == str(pub.closes_on)
    assert "王五" not in json.dumps(data, ensure_ascii=False)


def test_a_refused_objection_is_an_exit_code_not_json(
    in_publicity: tuple[ReviewSeed, str, list[str]],
) -> None:
    _, village, _ = in_publicity
    res = cli("object", "--village", village, "--household", "H1", "--year", str(YEAR),
              "--by", "x", "--reason", "y", "--json")  # fmt: skip
    assert res.exit_code == 1 and res.stdout == ""


# --- the local stack ------------------------------------------------------------------


def _sleeper() -> subprocess.Popen[bytes]:
    """A stand-in for a stack process: its own process group, as `up` starts them."""
    return subprocess.Popen(["sleep", "120"], start_new_session=True)


def test_down_json_when_nothing_runs(data_dir: Path) -> None:
    assert as_json(cli("down", "--json")) == {"up": False, "stopped": []}


def test_up_json_then_down_json(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zhucun.cli import commands_stack
    from zhucun.stack import free_port

    procs: list[subprocess.Popen[bytes]] = []

    def fake_start(port: int, county: str | None, **kw: Any) -> dict[str, Any]:
        procs.append(_sleeper())
        state = {
            "api_url": f"http://127.0.0.1:{port}/api",
            "ui_url": f"http://127.0.0.1:{port}",
            "port": port,
            "county": county,
            "pids": {"server": procs[-1].pid},
            "auth": bool(kw.get("auth")),
            "automations": ["zhucun-village-exit-review"],
        }
        commands_stack.stack_dir().mkdir(parents=True, exist_ok=True)
        (commands_stack.stack_dir() / "state.json").write_text(json.dumps(state), "utf-8")
        return state

    monkeypatch.setattr(commands_stack, "start_stack", fake_start)
    port = free_port()
    try:
        up = cli("up", "--port", str(port), "--county", "130624", "--auth", "ops:s3cret-pw",
                 "--json")  # fmt: skip
        data = as_json(up)  # stdout is the JSON alone: the progress line went to stderr
        assert "starting Prefect server" in up.stderr
        assert data["up"] is True and data["already_up"] is False
        assert (data["ui_url"], data["county"]) == (f"http://127.0.0.1:{port}", "130624")
        assert data["processes"] == {"server": procs[0].pid}
        assert data["auth"] is True and data["auth_file"].endswith("stack/auth")
        assert data["automations"] == ["zhucun-village-exit-review"]
        assert "s3cret" not in up.stdout  # whether there are credentials, never them

        again = as_json(cli("up", "--json"))  # already up: says so, starts nothing
        assert again["already_up"] is True and again["up"] is True and len(procs) == 1

        assert as_json(cli("down", "--json")) == {"up": False, "stopped": ["server"]}
        deadline = time.monotonic() + 10
        while procs[0].poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert procs[0].poll() is not None, "down stopped the stack's process"
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 9)
                p.wait()
