"""What `zhucun status` reads from the stack's API and logs: the next scheduled runs (by
the names they will take, in China's time) and the last notifications as sentences."""

from __future__ import annotations

import json
from typing import Any


def _post(api_url: str, path: str, body: dict[str, Any], auth: str | None) -> Any:
    import urllib.request

    from zhucun.stack import auth_headers

    req = urllib.request.Request(
        f"{api_url}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **auth_headers(auth)},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def readable_run_name(name: str, deployment: str | None, parameters: dict[str, Any]) -> str:
    """A scheduled run keeps Prefect's random name (`brave-otter`) until it starts and names
    itself from its parameters: show what it will be called instead."""
    if any(c.isdigit() for c in name) or not deployment:
        return name
    parts = [
        str(parameters[k]) for k in ("county", "cycle_year", "year", "period") if k in parameters
    ]
    return "-".join([deployment, *parts])


def local_time(value: str | None) -> str:
    """An API timestamp (UTC) as China's time, to the minute."""
    from datetime import datetime

    from zhucun.reports.fmt import CHINA

    if not value:
        return "—"
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") + " (北京时间)"


def next_scheduled_runs(
    api_url: str, limit: int = 5, auth: str | None = None
) -> list[dict[str, Any]]:
    """The next scheduled flow runs (readable name, deployment name, expected start in UTC
    and in Asia/Shanghai), from the API."""
    runs = _post(
        api_url,
        "/flow_runs/filter",
        {
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
            "sort": "EXPECTED_START_TIME_ASC",
            "limit": limit,
        },
        auth,
    )
    ids = sorted({r["deployment_id"] for r in runs if r.get("deployment_id")})
    names = {}
    if ids:
        deps = _post(api_url, "/deployments/filter", {"deployments": {"id": {"any_": ids}}}, auth)
        names = {d["id"]: d["name"] for d in deps}
    out = []
    for run in runs:
        dep = names.get(run.get("deployment_id"))
        out.append(
            {
                "name": readable_run_name(run["name"], dep, run.get("parameters") or {}),
                "deployment": dep,
                "expected_start_time": run["expected_start_time"],
                "expected_start_local": local_time(run["expected_start_time"]),
                "deployment_id": run["deployment_id"],
            }
        )
    return out


def notification_line(line: str) -> str:
    """One notification of the sink's log as a sentence, not its raw JSON."""
    try:
        note = json.loads(line)
    except ValueError:
        return line
    if not isinstance(note, dict):
        return line
    body = note.get("body") or note.get("message") or note.get("text") or ""
    if isinstance(body, dict):
        body = body.get("body") or body.get("message") or json.dumps(body, ensure_ascii=False)
    subject = note.get("subject") or note.get("title") or ""
    when = note.get("received_at") or note.get("at") or note.get("time")
    text = " — ".join(str(x).strip() for x in (subject, body) if str(x).strip())
    text = " ".join(text.split())[:160]
    return f"{local_time(when)}  {text}" if isinstance(when, str) else text
