"""`zhucun db backup` / `zhucun db restore` (issue 10, point 7): a registry imported and
assessed, backed up, restored into a fresh data directory, exports the same files; a
restore does not replace a database holding data without --force; PostgreSQL gets one line
of pg_dump / pg_restore guidance."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from tests.support.registry_fixtures import COUNTY, valid_folder
from tests.support.stack import operator_env, zhucun

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_backup_then_restore_into_a_fresh_directory_exports_the_same_files(
    data_dir: Path, tmp_path: Path
) -> None:
    from zhucun.flows.causes import assess_causes

    assert zhucun(data_dir, "db", "upgrade").returncode == 0
    assert zhucun(data_dir, "import", str(valid_folder(tmp_path / "in"))).returncode == 0
    assert assess_causes(COUNTY, 2026)["households"] > 0  # something small ran and wrote

    backup = tmp_path / "zhucun-backup.db"
    out = zhucun(data_dir, "db", "backup", str(backup))
    assert out.returncode == 0 and backup.is_file(), out.stdout + out.stderr
    again = zhucun(data_dir, "db", "backup", str(backup))
    assert again.returncode == 2 and "--force" in again.stderr

    fresh = tmp_path / "fresh"
    out = zhucun(fresh, "db", "restore", str(backup))
    assert out.returncode == 0, out.stdout + out.stderr
    refused = zhucun(fresh, "db", "restore", str(backup))
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert zhucun(fresh, "db", "restore", str(backup), "--force").returncode == 0

    for d in (data_dir, fresh):
        done = zhucun(d, "export", str(d / "export"))
        assert done.returncode == 0, done.stdout + done.stderr
    files = sorted(p.name for p in (data_dir / "export").iterdir())
    assert "household_assessments.csv" in files
    match, mismatch, errors = filecmp.cmpfiles(
        data_dir / "export", fresh / "export", files, shallow=False
    )
    assert mismatch == [] and errors == [] and len(match) == len(files)
    rows = (fresh / "export" / "household_assessments.csv").read_text("utf-8-sig").splitlines()
    assert len(rows) > 1


def test_postgresql_gets_one_line_of_guidance(tmp_path: Path) -> None:
    import subprocess

    from tests.support.stack import REPO_ROOT, ZHUCUN

    env = operator_env(tmp_path, ZHUCUN_DATABASE_URL="postgresql+psycopg://u:secret@db/zhucun")
    for action, tool in (("backup", "pg_dump"), ("restore", "pg_restore")):
        out = subprocess.run(
            [*ZHUCUN, "db", action, str(tmp_path / "x.dump")],
            env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        lines = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.strip()]
        assert out.returncode == 2 and len(lines) <= 2, out.stderr
        assert tool in out.stderr and "secret" not in out.stderr
