"""Installed, zhucun is one top-level package: its design-card folders live under the
`zhucun` namespace, so another project's `models` or `tasks` is never shadowed."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if build.returncode != 0:
        pytest.fail(build.stderr[-2000:])
    return next(out.glob("zhucun-*.whl"))


def test_the_wheel_holds_one_top_level_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.startswith("zhucun-")}
    assert tops == {"zhucun"}
    for sub in ("models", "tasks", "flows", "deployments", "migrations/versions"):
        assert f"zhucun/{sub}/__init__.py" in names
    assert "zhucun/deployments/prefect.yaml" in names
    assert any(n.startswith("zhucun/migrations/versions/0001") for n in names)


def test_installed_beside_a_project_with_its_own_models(wheel: Path, tmp_path: Path) -> None:
    """A fresh venv (sharing this interpreter's site-packages for the dependencies), the
    wheel installed into it, run from a folder that has its own `models` and `tasks`."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    project = tmp_path / "their-project"
    for pkg in ("models", "tasks"):
        (project / pkg).mkdir(parents=True)
        (project / pkg / "__init__.py").write_text(f"OWNER = 'theirs-{pkg}'\n")
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "ZHUCUN_DATA_DIR": str(tmp_path / "d")}
    probe = subprocess.run(
        [
            str(py),
            "-c",
            "import models, tasks, zhucun.models, zhucun.flows.cycle;"
            "from zhucun.deployments.definitions import DEPLOYMENTS;"
            "print(models.OWNER, tasks.OWNER, zhucun.models.__file__);"
            "print(all(d.module_path.exists() for d in DEPLOYMENTS))",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    first, second = probe.stdout.split("\n")[:2]
    assert first.startswith("theirs-models theirs-tasks ") and str(env_dir) in first
    assert second == "True"
    for args in (["db", "upgrade"], ["policy", "show", "--year", "2015"]):
        run = subprocess.run(
            [str(env_dir / "bin" / "zhucun"), *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert run.returncode == 0, (args, run.stdout[-1000:], run.stderr[-1000:])
        assert "Traceback" not in run.stdout + run.stderr


def test_no_module_imports_a_top_level_folder_by_its_bare_name() -> None:
    """Every module of zhucun imported in one process: none pulls in `models`, `tasks`,
    `flows`, `deployments` or `migrations` bare (a second copy of the tables would load)."""
    code = (
        "import pkgutil, sys, zhucun\n"
        "for m in pkgutil.walk_packages(zhucun.__path__, 'zhucun.'):\n"
        "    if not m.name.startswith(('zhucun.migrations.versions', 'zhucun.__main__')):\n"
        "        __import__(m.name)\n"
        "import zhucun.models, zhucun.tasks, zhucun.flows, zhucun.deployments\n"
        "for p in ('models', 'tasks', 'flows', 'deployments'):\n"
        "    pkg = sys.modules['zhucun.' + p]\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, 'zhucun.' + p + '.'):\n"
        "        __import__(m.name)\n"
        "bare = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('models', 'tasks', 'flows', 'deployments', 'migrations'))\n"
        "print(bare)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd="/", capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"
