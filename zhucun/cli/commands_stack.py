"""`zhucun up`, `zhucun down`, `zhucun status`, `zhucun deploy yaml`: the local stack.

`up` starts, all under the data directory and offline (telemetry off):
1. a persistent Prefect server with its own SQLite database (`<data>/prefect`), UI included;
2. the notification sink (`deployments/notify_sink.py`) the `zhucun-notify` block posts to;
3. the serve process (`deployments/serve.py`), which registers every deployment and runs
   their flow runs;
then it creates the automations and prints the UI address. Pid files live in
`<data>/stack/`, logs in `<data>/logs/`. `down` stops the three processes (schedules stay
active: the next `up` resumes them).

`up --auth user:password` (or $ZHUCUN_API_AUTH) turns on Prefect's HTTP Basic auth
(PREFECT_SERVER_API_AUTH_STRING): the API then refuses any request without it (401), the UI
asks for it. It is kept in `<data>/stack/auth` (mode 0600, never in state.json), handed to
the stack's own processes as PREFECT_API_AUTH_STRING, and used by `zhucun status` and by
zhucun commands whose PREFECT_API_URL is the stack's. A later `up` reuses it; `--auth ''`
turns it off.

`up`, `down` and `status` take `--json` (never the credentials); what `status` reads from
the API and the logs is in `stack_status`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from zhucun.cli.output import console, emit_json, err_console
from zhucun.cli.stack_status import next_scheduled_runs, notification_line

STACK_PROCESSES = ("serve", "sink", "server")  # stop order


def stack_dir() -> Path:
    from zhucun.settings import get_settings

    return get_settings().data_dir / "stack"


def logs_dir() -> Path:
    from zhucun.settings import get_settings

    return get_settings().data_dir / "logs"


def auth_path() -> Path:
    return stack_dir() / "auth"


def read_auth() -> str | None:
    """The stack's 'user:password', if `up` was given one."""
    path = auth_path()
    if not path.exists():
        return None
    return path.read_text("utf-8").strip() or None


def store_auth(auth: str | None) -> None:
    """Keep the credentials for later commands, readable by the operator alone (0600)."""
    path = auth_path()
    if not auth:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(auth + "\n")
    os.chmod(path, 0o600)  # an older file keeps its mode through O_CREAT


def check_auth(auth: str) -> str:
    """'user:password', printable, no spaces: what HTTP Basic can carry."""
    user, sep, password = auth.partition(":")
    if not sep or not user or not password or not auth.isprintable() or " " in auth:
        from zhucun.cli.output import fail

        fail("--auth must be user:password (no spaces or control characters)", code=2)
    return auth


def read_state() -> dict[str, Any] | None:
    path = stack_dir() / "state.json"
    if not path.exists():
        return None
    return json.loads(path.read_text("utf-8"))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of this process counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def running_processes(state: dict[str, Any] | None) -> dict[str, int]:
    if not state:
        return {}
    return {name: pid for name, pid in state.get("pids", {}).items() if pid_alive(pid)}


def _spawn(cmd: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> int:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return proc.pid


def _wait_for_deployment(
    api_url: str, name: str, timeout: float, serve_pid: int, auth: str | None = None
) -> None:
    """Poll the API until the serve process has registered `name` (flow/deployment)."""
    import urllib.request

    from zhucun.stack import auth_headers

    flow, dep = name.split("/", 1)
    deadline = time.monotonic() + timeout
    req = urllib.request.Request(
        f"{api_url}/deployments/name/{flow}/{dep}", headers=auth_headers(auth)
    )
    while time.monotonic() < deadline:
        if not pid_alive(serve_pid):
            raise RuntimeError("the serve process exited: see logs/serve.log")
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:  # noqa: BLE001 - not registered yet
            pass
        time.sleep(1)
    raise TimeoutError(f"deployment {name} not registered after {timeout:.0f}s")


def start_stack(
    port: int,
    county: str | None,
    sink_port: int | None = None,
    timeout: float = 180.0,
    auth: str | None = None,
) -> dict[str, Any]:
    """Start server, sink and serve; register automations; return the state written."""
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    from zhucun.deployments.automations import EXIT_REVIEW_DEPLOYMENT, ensure_automations
    from zhucun.deployments.definitions import REPO_ROOT
    from zhucun.settings import get_settings
    from zhucun.stack import free_port, prefect_env, start_server, stop_process_group, wait_healthy

    settings = get_settings()
    sdir, ldir = stack_dir(), logs_dir()
    sdir.mkdir(parents=True, exist_ok=True)
    api_url = f"http://127.0.0.1:{port}/api"
    sink_port = sink_port or free_port()
    notify_url = f"http://127.0.0.1:{sink_port}/notify"
    pids: dict[str, int] = {}
    state: dict[str, Any] = {
        "api_url": api_url,
        "ui_url": f"http://127.0.0.1:{port}",
        "port": port,
        "sink_port": sink_port,
        "notify_url": notify_url,
        "county": county,
        "pids": pids,
        "prefect_home": str(settings.prefect_home),
        "started_at": time.time(),
        "auth": bool(auth),  # whether; the credentials are in stack/auth (0600)
    }

    def save() -> None:
        (sdir / "state.json").write_text(json.dumps(state, indent=2), "utf-8")

    try:
        server = start_server(settings.prefect_home, port, ldir / "prefect-server.log", auth=auth)
        pids["server"] = server.pid
        save()
        wait_healthy(api_url, timeout=timeout, proc=server)

        env = prefect_env(
            settings.prefect_home, api_url, auth, ZHUCUN_DATA_DIR=str(settings.data_dir)
        )
        if county:
            env["ZHUCUN_COUNTY"] = county
        pids["sink"] = _spawn(
            [
                sys.executable,
                "-m",
                "zhucun.deployments.notify_sink",
                "--port",
                str(sink_port),
                "--out",
                str(ldir / "notifications.jsonl"),
            ],
            env,
            ldir / "sink.log",
            REPO_ROOT,
        )
        serve_cmd = [sys.executable, "-m", "zhucun.deployments.serve"]
        if county:
            serve_cmd += ["--county", county]
        pids["serve"] = _spawn(serve_cmd, env, ldir / "serve.log", REPO_ROOT)
        save()
        # `up` returns once every deployment is there: the serve process registers them one
        # by one, and an operator (or a test) asking for one right after `up` must find it.
        from zhucun.deployments.definitions import DEPLOYMENTS

        served = [d.full_name for d in DEPLOYMENTS if d.module_path.exists()]
        for name in dict.fromkeys([EXIT_REVIEW_DEPLOYMENT, *served]):
            _wait_for_deployment(api_url, name, timeout, pids["serve"], auth)
        updates: dict[Any, Any] = {PREFECT_API_URL: api_url}
        if auth:
            updates[PREFECT_API_AUTH_STRING] = auth
        with temporary_settings(updates=updates):
            state["automations"] = [r.name for r in ensure_automations(notify_url)]
        save()
        return state
    except BaseException:
        for name in STACK_PROCESSES:
            if name in pids:
                stop_process_group(pids[name])
        (sdir / "state.json").unlink(missing_ok=True)
        raise


def stop_stack() -> list[str]:
    """Stop what `up` started (serve first, so no run starts while the server goes)."""
    from zhucun.stack import stop_process_group

    state = read_state()
    stopped = []
    if state:
        for name in STACK_PROCESSES:
            pid = state.get("pids", {}).get(name)
            if pid and pid_alive(pid):
                stop_process_group(pid)
                stopped.append(name)
    (stack_dir() / "state.json").unlink(missing_ok=True)
    return stopped


def up_json(state: dict[str, Any], alive: dict[str, int], *, already_up: bool) -> dict[str, Any]:
    """What `up --json` tells a script: where the stack is and what runs. Whether it needs
    credentials, never the credentials (they stay in stack/auth)."""
    return {
        "up": "server" in alive,
        "already_up": already_up,
        "ui_url": state["ui_url"],
        "api_url": state["api_url"],
        "port": state.get("port"),
        "county": state.get("county"),
        "processes": alive,
        "automations": state.get("automations", []),
        "auth": bool(state.get("auth")),
        "auth_file": str(auth_path()) if state.get("auth") else None,
        "notifications": str(logs_dir() / "notifications.jsonl"),
        "logs": str(logs_dir()),
    }


def register(app: typer.Typer) -> None:
    deploy_app = typer.Typer(
        rich_markup_mode="markdown",
        help="Deployment definitions (prefect.yaml for a cluster).",
        no_args_is_help=True,
    )

    @app.command("up")
    def up(
        port: Annotated[int | None, typer.Option(help="Port of the Prefect server and UI")] = None,
        county: Annotated[
            str | None,
            typer.Option(
                help="Default county (6 digits) of the scheduled deployments; "
                "default $ZHUCUN_COUNTY"
            ),
        ] = None,
        auth: Annotated[
            str | None,
            typer.Option(
                "--auth",
                help="user:password for the Prefect API and UI (HTTP Basic); default "
                "$ZHUCUN_API_AUTH, else the one the last `up` stored; '' turns it off",
            ),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts)")] = False,
    ) -> None:
        """Start the local stack: Prefect server + UI, deployments, automations, runner."""
        from zhucun.settings import get_settings
        from zhucun.tasks.common import Scope

        settings = get_settings()
        port = port or settings.server_port
        county = Scope(county=county).county if county else settings.county
        state = read_state()
        alive = running_processes(state)
        if state and alive:
            if as_json:
                emit_json(up_json(state, alive, already_up=True))
                raise typer.Exit(0)
            console.print(
                f"zhucun is already up at [bold]{state['ui_url']}[/] "
                f"(running: {', '.join(sorted(alive))}); `zhucun down` stops it."
            )
            raise typer.Exit(0)
        if state:  # left over from a crash: nothing of it runs any more
            stop_stack()
        if port_in_use(port):
            (err_console if as_json else console).print(
                f"[red]port {port} is in use by another program[/]: choose another with --port"
            )
            raise typer.Exit(1)
        if auth is None:
            auth = os.environ.get("ZHUCUN_API_AUTH") or read_auth()
        auth = check_auth(auth) if auth else None
        from zhucun.migrate import upgrade

        upgrade()  # zhucun's own database, at the current schema
        store_auth(auth)
        (err_console if as_json else console).print(
            f"starting Prefect server on port {port} (data in {settings.data_dir}) …"
        )
        state = start_stack(port, county, auth=auth)
        if as_json:  # stdout is the JSON alone; the line above went to stderr
            emit_json(up_json(state, running_processes(state), already_up=False))
            return
        console.print(f"[green]zhucun is up[/]. Prefect UI: [bold]{state['ui_url']}[/]")
        console.print(f"  API: {state['api_url']}   (export PREFECT_API_URL={state['api_url']})")
        if auth:
            console.print(
                f"  API and UI need the credentials in {auth_path()} (0600); the Prefect CLI: "
                f'export PREFECT_API_AUTH_STRING="$(cat {auth_path()})"',
                markup=False,
            )
        console.print(f"  scheduled county: {county or 'none (county schedules inactive)'}")
        console.print(f"  notifications: {logs_dir() / 'notifications.jsonl'}")
        console.print(f"  logs: {logs_dir()}   stop with `zhucun down`")

    @app.command("down")
    def down(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts)")] = False,
    ) -> None:
        """Stop the local stack (runner, notification sink, server). Schedules stay active."""
        stopped = stop_stack()
        if as_json:
            emit_json({"up": False, "stopped": stopped})
            return
        console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))

    @app.command("status")
    def status(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts)")] = False,
    ) -> None:
        """Is the stack up; its address; the next scheduled runs; the last notifications."""
        state = read_state()
        alive = running_processes(state)
        info: dict[str, Any] = {"up": bool(state and "server" in alive), "processes": alive}
        if state:
            info.update(
                ui_url=state["ui_url"], api_url=state["api_url"], county=state.get("county")
            )
        if info["up"]:
            try:
                info["next_scheduled"] = next_scheduled_runs(
                    state["api_url"],  # type: ignore[index]
                    auth=read_auth(),
                )
            except OSError as exc:
                info["next_scheduled_error"] = str(exc)
        notes = logs_dir() / "notifications.jsonl"
        if notes.exists():
            info["last_notifications"] = notes.read_text("utf-8").splitlines()[-3:]
        if as_json:
            print(json.dumps(info, ensure_ascii=False, indent=2))
            return
        if not info["up"]:
            console.print("zhucun is down (`zhucun up` starts it)")
            return
        console.print(
            f"zhucun is up: UI [bold]{info['ui_url']}[/], running "
            f"{', '.join(f'{k} ({v})' for k, v in sorted(alive.items()))}"
        )
        if info.get("county"):
            console.print(f"  scheduled county: {info['county']}")
        for run in info.get("next_scheduled", []):
            console.print(
                f"  next: {run['name']} ({run['deployment'] or '?'}) at "
                f"{run['expected_start_local']}",
                markup=False,
            )
        if info.get("next_scheduled_error"):
            console.print(f"  next runs unknown: {info['next_scheduled_error']}", markup=False)
        for line in info.get("last_notifications", []):
            console.print(f"  notified: {notification_line(line)}", markup=False)

    @deploy_app.command("yaml")
    def deploy_yaml(
        county: Annotated[
            str | None,
            typer.Option(
                help="Default county of scheduled deployments (activates their schedules)"
            ),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option(help="Write here; default deployments/prefect.yaml; '-' prints"),
        ] = None,
    ) -> None:
        """Render deployments/prefect.yaml from deployments/definitions.py."""
        from zhucun.deployments.definitions import PREFECT_YAML, render_prefect_yaml
        from zhucun.tasks.common import Scope

        text = render_prefect_yaml(Scope(county=county).county if county else None)
        if out is not None and str(out) == "-":
            print(text, end="")
            return
        target = out or PREFECT_YAML
        target.write_text(text, "utf-8")
        console.print(f"wrote {target}")

    app.add_typer(deploy_app, name="deploy")
