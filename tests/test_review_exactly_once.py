"""Decisions exactly once, guaranteed by the database: N processes released at once decide
the same item as the same person (through `decide` and through `zhucun review decide`), or
apply the same decisions file; exactly one accepted decision, each file applied once.
Also: the ledger and the audit trail refuse UPDATE and DELETE. On SQLite and PostgreSQL.

Nothing personal is printed: the tests count rows."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, SQLModel
from zhucun.models import AuditEvent, Decision
from zhucun.models.audit import AppliedFile

from tests.support.review_fixtures import YEAR, ReviewSeed, seed_review
from zhucun.db import dispose_engines, get_engine
from zhucun.policy import seed_policy
from zhucun.settings import get_settings, reset_settings

N = 6
D = date(2026, 3, 2)
FORK = mp.get_context("fork")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Session, ReviewSeed]]:
    """(database URL, a session, the review seed) on a fresh SQLite file or PostgreSQL."""
    monkeypatch.setenv("ZHUCUN_DATA_DIR", str(tmp_path / "data"))
    if request.param == "postgres":
        monkeypatch.setenv("ZHUCUN_DATABASE_URL", request.getfixturevalue("postgres_url"))
    else:
        monkeypatch.delenv("ZHUCUN_DATABASE_URL", raising=False)
    reset_settings()
    url = get_settings().effective_database_url
    engine = get_engine()
    SQLModel.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as s:
        seed_policy(s)
        seed = seed_review(s)
        s.commit()
        engine.dispose()  # no pooled connection crosses a fork
        yield url, s, seed
    reset_settings()


def _worker(kind: str, barrier: object, url: str, args: tuple) -> None:
    """One racer: 0 accepted/applied, 1 refused ("already decided"), 3 "already applied",
    9 anything else (an exception: the test fails on it)."""
    code = 9
    try:
        os.environ["ZHUCUN_DATABASE_URL"] = url
        reset_settings()
        dispose_engines()
        from zhucun.tasks import review as T

        from zhucun.db import session_scope
        from zhucun.rules.review import Request

        barrier.wait(timeout=60)  # type: ignore[attr-defined]
        with session_scope() as s:
            if kind == "decide":
                hid, reviewer = args
                res = T.decide(
                    s,
                    [Request("strategy", hid, "team", reviewer, "approve", None, D)],
                    cycle_year=YEAR,
                    channel="cli",
                    county="130624",
                )
                code = 0 if res.accepted == 1 else 1
            else:
                fr = T.apply_decisions_file(s, Path(args[0]), cycle_year=YEAR)
                code = 3 if fr.already_applied else (0 if fr.ok else 4)
    except BaseException:  # noqa: BLE001 - reported as an exit code, counted by the test
        code = 9
    os._exit(code)


def _race(kind: str, url: str, *args: object) -> list[int]:
    barrier = FORK.Barrier(N)
    procs = [FORK.Process(target=_worker, args=(kind, barrier, url, args)) for _ in range(N)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    return sorted(int(p.exitcode if p.exitcode is not None else -1) for p in procs)


def _count(s: Session, *where: object) -> int:
    s.expire_all()
    return int(s.scalar(select(func.count()).select_from(Decision).where(*where)) or 0)


def test_concurrent_decisions_of_one_person_land_once(db: tuple[str, Session, ReviewSeed]) -> None:
    url, s, seed = db
    v0 = seed.info.poor_villages[0]
    hid, leader = seed.strategies[v0][0], seed.teams[v0][0]
    codes = _race("decide", url, hid, leader)
    assert codes == [0] + [1] * (N - 1), codes  # one accepted, the others "already decided"
    accepted = _count(s, Decision.subject_id == hid, Decision.outcome == "accepted")
    refused = s.scalars(
        select(Decision.refusal_reason).where(
            Decision.subject_id == hid, Decision.outcome == "refused"
        )
    ).all()
    assert accepted == 1
    # the first moved the item on: the others find it decided (recorded, refused)
    decided = ("already decided", "waits for the committee stage")
    assert len(refused) == N - 1 and all(any(d in r for d in decided) for r in refused)


def test_concurrent_cli_decisions_land_once(
    db: tuple[str, Session, ReviewSeed], tmp_path: Path
) -> None:
    """N `zhucun review decide` processes, started first and released by a file."""
    url, s, seed = db
    v0 = seed.info.poor_villages[0]
    hid, leader = seed.strategies[v0][1], seed.teams[v0][0]
    go = tmp_path / "go"
    script = (
        "import os, sys, time\n"
        "from zhucun.cli import app\n"
        "while not os.path.exists(sys.argv[1]): time.sleep(0.005)\n"
        "app(sys.argv[2:], prog_name='zhucun')\n"
    )
    env = {**os.environ, "ZHUCUN_DATABASE_URL": url}
    env.pop("PREFECT_API_URL", None)
    args = ["review", "decide", "--reviewer", leader, "--stage", "team", "--household", hid]
    args += ["--decision", "approve", "--year", str(YEAR), "--no-resume", "--json"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(go), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(N)
    ]
    time.sleep(6)  # let every process import and reach the wait
    go.write_text("go")
    results = [(p.wait(120), p.stderr.read() if p.stderr else b"") for p in procs]
    codes = sorted(c for c, _ in results)
    assert codes == [0] + [1] * (N - 1), [e[-300:] for _, e in results]
    assert not any(b"Traceback" in e for _, e in results)
    assert _count(s, Decision.subject_id == hid, Decision.outcome == "accepted") == 1
    assert _count(s, Decision.subject_id == hid, Decision.outcome == "refused") == N - 1


def test_concurrent_imports_of_one_file_apply_it_once(
    db: tuple[str, Session, ReviewSeed], tmp_path: Path
) -> None:
    url, s, seed = db
    v0 = seed.info.poor_villages[0]
    leader = seed.teams[v0][0]
    f = tmp_path / "minutes.csv"
    f.write_text(
        "stage,subject,subject_id,reviewer_id,decision,reason,decided_on\n"
        + "".join(f"team,strategy,{h},{leader},approve,,{D}\n" for h in seed.strategies[v0]),
        encoding="utf-8",
    )
    codes = _race("file", url, str(f))
    assert codes == [0] + [3] * (N - 1), codes  # applied once, the others "already applied"
    s.expire_all()
    assert s.scalar(select(func.count()).select_from(AppliedFile)) == 1
    accepted = _count(s, Decision.channel == "file", Decision.outcome == "accepted")
    assert accepted == len(seed.strategies[v0])
    # a later import of the same bytes changes nothing and says when it was applied
    from zhucun.tasks import review as T

    fr = T.apply_decisions_file(s, f, cycle_year=YEAR)
    s.commit()
    assert fr.ok and fr.already_applied and fr.already_applied.startswith("already applied on")
    assert _count(s, Decision.channel == "file") == accepted


def test_the_database_refuses_a_second_accepted_decision(
    db: tuple[str, Session, ReviewSeed],
) -> None:
    """The guarantee without any lock: a second accepted row for the same person (or the
    same seat of a one-approver stage) is refused by the partial unique indexes."""
    _url, s, seed = db
    v0 = seed.info.poor_villages[0]
    row = dict(
        stage="team",
        subject="strategy",
        subject_id=seed.strategies[v0][2],
        cycle_year=YEAR,
        version=1,
        village_code=v0,
        reviewer_id="C010",
        person="P1",
        seq=1,
        decision="approve",
        decided_on=D,
        received_at=datetime(2026, 3, 2, tzinfo=UTC),
        channel="cli",
        outcome="accepted",
    )
    s.execute(insert(Decision), [row])
    s.execute(insert(Decision), [{**row, "outcome": "refused", "seq": None}])  # refusals: any
    for dup in ({"seq": 2}, {"person": "P2"}):  # same person; same seat, another person
        with pytest.raises(IntegrityError), s.begin_nested():
            s.execute(insert(Decision), [{**row, **dup}])
    s.rollback()


@pytest.mark.parametrize("table", ["decision", "auditevent"])
def test_ledger_and_audit_are_append_only(db: tuple[str, Session, ReviewSeed], table: str) -> None:
    _url, s, seed = db
    v0 = seed.info.poor_villages[0]
    from zhucun.tasks import review as T

    from zhucun.rules.review import Request

    T.decide(
        s,
        [
            Request(
                "strategy", seed.strategies[v0][3], "team", seed.teams[v0][0], "approve", None, D
            )
        ],
        cycle_year=YEAR,
        channel="cli",
    )
    s.commit()
    assert s.scalar(select(func.count()).select_from(AuditEvent)) > 0
    for sql in (f"UPDATE {table} SET flow_run_id = 'x'", f"DELETE FROM {table}"):
        # the trigger's refusal, told safely by zhucun.db (SQLite / PostgreSQL RAISE)
        with pytest.raises(DBAPIError, match="CONSTRAINT_TRIGGER|P0001"):
            s.execute(text(sql))
        s.rollback()
