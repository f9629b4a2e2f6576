"""`python -m zhucun ...`: the same as the `zhucun` command, with no PATH set-up needed."""

from zhucun.cli import app

app(prog_name="zhucun")
