"""A multi-machine set-up on one machine, for the province test and its benchmark: a real
Prefect server on PostgreSQL, the `zhucun` process work pool, the deployments created from
`deployments/prefect.yaml` with `prefect deploy` (as an operator does), and workers — each
with its own PREFECT_HOME, as if on machines of their own — pointed at zhucun's PostgreSQL
database.

Every process is started in its own process group and stopped by its group; every database
created here is dropped on the way out, also on failure."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from zhucun.deployments.definitions import PROVINCE_QUEUE, WORK_POOL

from zhucun.stack import free_port, prefect_env, start_server, wait_healthy

REPO_ROOT = Path(__file__).resolve().parents[2]
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# What a province run needs on the server: the county cycle, the review it hands over to,
# and the province flow itself.
CLUSTER_DEPLOYMENTS = ("assistance-cycle", "review-cycle", "province-cycle")
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def postgres_reachable(admin_url: str = POSTGRES_ADMIN_URL) -> str | None:
    """None when the server answers, else why not (for a skip message)."""
    engine = create_engine(admin_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means: not here
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()


def create_database(prefix: str, template: str | None = None) -> str:
    """A new database (a copy of `template` when given); returns its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    finally:
        admin.dispose()
    return name


def drop_database(name: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def database_url(name: str, driver: str = "psycopg") -> str:
    """zhucun speaks psycopg; Prefect's server wants asyncpg."""
    url = make_url(POSTGRES_ADMIN_URL).set(drivername=f"postgresql+{driver}", database=name)
    return url.render_as_string(hide_password=False)


@contextmanager
def fresh_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """A new database's name for the block; dropped afterwards (connections forced out)."""
    name = create_database(prefix, template)
    try:
        yield name
    finally:
        from zhucun.db import engine_for

        engine_for(database_url(name)).dispose()
        drop_database(name)


def prepare_counties(url: str, root: Path, counties: list[str], households: int) -> None:
    """zhucun's schema on `url`, and a generated registry per county imported into it (the
    `zhucun generate` and `zhucun import` code, in process: no CLI start-up per county)."""
    from zhucun.exchange.importer import import_folder
    from zhucun.generator import generate
    from zhucun.migrate import upgrade

    upgrade(url)
    for i, county in enumerate(counties):
        folder = root / f"registry-{county}"
        generate(county, folder, households=households, seed=1 + i, year=2026)
        result = import_folder(folder, url=url)
        assert result.ok, result.errors[:5]


def api(api_url: str, path: str, body: Any = None, method: str | None = None) -> Any:
    req = urllib.request.Request(
        f"{api_url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method or ("POST" if body is not None else "GET"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
    return json.loads(raw) if raw else None


@dataclass
class Cluster:
    """A running server, its pool and deployments; workers come and go (`start_workers`)."""

    root: Path
    api_url: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def env(self, name: str, **extra: str) -> dict[str, str]:
        """A machine's shell: its own PREFECT_HOME, the server's API, quick polling."""
        return prefect_env(
            self.root / "homes" / name,
            self.api_url,
            PREFECT_WORKER_QUERY_SECONDS="1",
            ZHUCUN_REPO_DIR=str(REPO_ROOT),
            **extra,
        )

    def prefect(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """The Prefect CLI (from the repository root, as `prefect deploy` wants)."""
        out = subprocess.run(
            [_prefect_bin(), *args],
            env=self.env("cli"),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert out.returncode == 0, f"prefect {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
        return out

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = self.root / f"{name}.log"
        self.logs[name] = log
        with open(log, "ab") as fh:
            self.procs[name] = subprocess.Popen(
                args,
                env=env,
                cwd=REPO_ROOT,
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def start_workers(self, county_workers: int, zhucun_url: str) -> list[str]:
        """`spawn_workers`, then wait until they are online; the county workers' names."""
        names = self.spawn_workers(county_workers, zhucun_url)
        self.wait_workers_online([*names, "coordinator"])
        return names

    def spawn_workers(self, county_workers: int, zhucun_url: str) -> list[str]:
        """`county_workers` workers on the `default` queue, one county run at a time each
        (`--limit 1`: a machine), and one on the `province` queue for the province run,
        which only waits. Returns the county workers' names at once."""
        names = [f"county-worker-{i + 1}" for i in range(county_workers)]
        machine_env = {"ZHUCUN_DATABASE_URL": zhucun_url}
        for name in names:
            self.spawn(
                name,
                [_prefect_bin(), "worker", "start", "--pool", WORK_POOL, "--name", name,
                 "--work-queue", "default", "--limit", "1"],
                self.env(name, ZHUCUN_DATA_DIR=str(self.root / name), **machine_env),
            )  # fmt: skip
        self.spawn(
            "coordinator",
            [_prefect_bin(), "worker", "start", "--pool", WORK_POOL, "--name", "coordinator",
             "--work-queue", PROVINCE_QUEUE],
            self.env("coordinator", ZHUCUN_DATA_DIR=str(self.root / "coord"), **machine_env),
        )  # fmt: skip
        return names

    def wait_workers_online(self, names: list[str], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        online: set[str] = set()
        while time.monotonic() < deadline:
            for name in names:
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise RuntimeError(f"worker {name} exited: {self.logs[name].read_text()}")
            workers = api(self.api_url, f"/work_pools/{WORK_POOL}/workers/filter", {})
            online = {w["name"] for w in workers if w.get("status") == "ONLINE"}
            if set(names) <= online:
                return
            time.sleep(0.5)
        raise TimeoutError(f"workers not online after {timeout}s: {set(names) - online}")

    def stop_workers(self) -> None:
        """Stop every worker with the flow runs it started (their own sessions: see
        `stop_trees`) and forget the workers, so the next set can reuse the names."""
        stop_trees([self.procs.pop(n).pid for n in list(self.procs) if n != "server"])
        workers = api(self.api_url, f"/work_pools/{WORK_POOL}/workers/filter", {})
        for w in workers:  # the next set of workers reuses the names
            api(self.api_url, f"/work_pools/{WORK_POOL}/workers/{w['name']}", method="DELETE")

    def pause_queue(self, queue: str, paused: bool = True) -> None:
        """A paused queue's runs wait, whatever workers poll it."""
        api(
            self.api_url,
            f"/work_pools/{WORK_POOL}/queues/{queue}",
            {"is_paused": paused},
            method="PATCH",
        )

    def run_province(self, timeout: float = 600, **parameters: Any) -> dict[str, Any]:
        """Trigger the province-cycle deployment as the UI does; the run once final."""
        return self.run_provinces(parameters, timeout=timeout)[0]

    def run_provinces(self, *parameters: dict[str, Any], timeout: float = 600) -> list[Any]:
        """Several province runs at once (the coordinator takes them all); each once final."""
        dep = api(self.api_url, "/deployments/name/province-cycle/province-cycle")
        runs = [
            api(self.api_url, f"/deployments/{dep['id']}/create_flow_run", {"parameters": p})
            for p in parameters
        ]
        return [self.wait_final(run["id"], timeout) for run in runs]

    def wait_final(self, run_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = api(self.api_url, f"/flow_runs/{run_id}")
            if run["state_type"] in FINAL:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"flow run {run['name']} not final after {timeout}s")
            time.sleep(0.5)

    def flow_runs(self, flow_name: str) -> list[dict[str, Any]]:
        return api(
            self.api_url,
            "/flow_runs/filter",
            {"flows": {"name": {"any_": [flow_name]}}, "sort": "EXPECTED_START_TIME_ASC"},
        )

    def delete_flow_runs(self) -> None:
        """Forget every run (and so every idempotency key): the next measurement starts as
        the first did."""
        while runs := api(self.api_url, "/flow_runs/filter", {"limit": 200}):
            for run in runs:
                api(self.api_url, f"/flow_runs/{run['id']}", method="DELETE")


def _processes() -> list[tuple[int, int, int, str]]:
    """(pid, ppid, process group, state) of every process, from /proc."""
    rows = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                rows.append((int(entry.name), int(fields[1]), int(fields[2]), fields[0]))
            except (OSError, IndexError, ValueError):
                continue
    return rows


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for p, ppid, _, _ in _processes():
        children.setdefault(ppid, []).append(p)
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def stop_trees(pids: list[int], timeout: float = 15) -> None:
    """SIGTERM the processes' groups and the groups of all their descendants (a process
    worker starts each flow run in a session of its own, out of the worker's group), wait
    until none is left but zombies, SIGKILL the rest."""
    tree = {d for pid in pids for d in (pid, *descendants(pid))}
    groups = {g for p, _, g, _ in _processes() if p in tree}

    def signal_all(sig: int) -> None:
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, sig)

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        if not any(g in groups and state != "Z" for _, _, g, state in _processes()):
            return
        time.sleep(0.2)
    signal_all(signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _prefect_bin() -> str:
    local = Path(sys.executable).with_name("prefect")
    return str(local) if local.exists() else "prefect"


@contextmanager
def local_cluster(
    root: Path, county_workers: int = 0, zhucun_url: str | None = None
) -> Iterator[Cluster]:
    """A Prefect server on a fresh PostgreSQL database, the process pool, the province's
    deployments and (with `county_workers`) the workers on zhucun's database at
    `zhucun_url`; stops every process started (workers' flow runs too) and drops the
    database."""
    root.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        db = stack.enter_context(fresh_database("zhucun_prefect"))
        port = free_port()
        cluster = Cluster(root=root, api_url=f"http://127.0.0.1:{port}/api")
        server = start_server(
            root / "homes" / "server",
            port,
            root / "server.log",
            extra_env={"PREFECT_SERVER_DATABASE_CONNECTION_URL": database_url(db, "asyncpg")},
        )
        cluster.procs["server"] = server
        cluster.logs["server"] = root / "server.log"

        def stop_all() -> None:
            stop_trees([cluster.procs.pop(n).pid for n in list(cluster.procs) if n != "server"])
            stop_trees([server.pid])

        stack.callback(stop_all)
        wait_healthy(cluster.api_url, timeout=120, proc=server)
        # `prefect work-pool create zhucun --type process`, without a CLI start-up
        from prefect.workers.process import ProcessWorker

        template = ProcessWorker.get_default_base_job_template()
        api(
            cluster.api_url,
            "/work_pools/",
            {"name": WORK_POOL, "type": "process", "base_job_template": template},
        )
        names = []
        if county_workers:  # they start up while `prefect deploy` runs
            names = cluster.spawn_workers(county_workers, zhucun_url or "")
        deploy = [a for d in CLUSTER_DEPLOYMENTS for a in ("--name", d)]
        cluster.prefect(
            "--no-prompt", "deploy", "--prefect-file", "deployments/prefect.yaml", *deploy
        )
        if county_workers:
            cluster.wait_workers_online([*names, "coordinator"])
        yield cluster
