"""A local notification sink: the offline end of zhucun's notification block.

The Prefect server sends automation notifications through a `CustomWebhookNotificationBlock`
to `http://127.0.0.1:PORT/notify`; this tiny HTTP server appends each one as a JSON line to
`<data_dir>/logs/notifications.jsonl` (and answers 204). No network beyond the loopback:
an operator reads the file (`zhucun status` shows the last lines) or points the block at a
real webhook (DingTalk/WeCom robot, mail gateway) where the county has one.

Run: `python -m deployments.notify_sink --port 4201 --out ~/.zhucun/logs/notifications.jsonl`.
"""

from __future__ import annotations

import argparse
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_LOCK = threading.Lock()


def make_handler(out: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                message = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                message = {"body": raw.decode("utf-8", "replace")}
            record = {
                "received_at": datetime.now(UTC).isoformat(),
                "path": self.path,
                **(message if isinstance(message, dict) else {"body": message}),
            }
            with _LOCK, out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.send_response(204)
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802 - a health check
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return  # quiet: the JSON lines are the log

    return Handler


def make_server(port: int, out: Path, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    out.parent.mkdir(parents=True, exist_ok=True)
    return ThreadingHTTPServer((host, port), make_handler(out))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="zhucun's local notification sink")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    server = make_server(args.port, args.out)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
