"""The local stack is not open to everyone (issue 10, point 8): `zhucun up --auth
user:password` starts Prefect's server with PREFECT_SERVER_API_AUTH_STRING; an
unauthenticated API request gets 401, `zhucun status` (which reads the credentials stored
0600 in the data directory) gets its answer. One server start."""

from __future__ import annotations

import json
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.stack import zhucun
from zhucun.stack import auth_headers, free_port

pytestmark = pytest.mark.slow
AUTH = "ops:Zh-9c1e7f"


def _post(url: str, headers: dict[str, str]) -> int:
    req = urllib.request.Request(
        url, data=b"{}", method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_up_with_auth_refuses_anonymous_requests_and_serves_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    up = zhucun(data, "up", "--port", str(free_port()), "--auth", AUTH)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert AUTH.split(":")[1] not in up.stdout + up.stderr
        state_text = (data / "stack" / "state.json").read_text("utf-8")
        assert AUTH.split(":")[1] not in state_text
        api = json.loads(state_text)["api_url"]
        auth_file = data / "stack" / "auth"
        assert stat.S_IMODE(auth_file.stat().st_mode) == 0o600
        assert auth_file.read_text("utf-8").strip() == AUTH

        assert _post(f"{api}/flows/filter", {}) == 401  # anonymous: refused
        assert _post(f"{api}/flows/filter", auth_headers("ops:wrong")) == 401
        assert _post(f"{api}/flows/filter", auth_headers(AUTH)) == 200
        with urllib.request.urlopen(f"{api}/health", timeout=10) as r:  # probes stay open
            assert r.status == 200

        status = zhucun(data, "status", "--json")
        assert status.returncode == 0, status.stderr
        info = json.loads(status.stdout)
        assert info["up"] is True and "next_scheduled" in info, info
        assert "next_scheduled_error" not in info
    finally:
        zhucun(data, "down")
