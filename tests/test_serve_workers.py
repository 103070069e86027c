"""``geo-app serve --workers N``: several processes on one port, sharing state through the databases; a worker
killed with SIGKILL is replaced while the others keep answering; stopping the parent stops them all."""
from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

from support.servers import Server, free_port

DEADLINE_S = 120  # generous: only reached when something is wrong, never waited out otherwise


def _children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in text.split()}


def _until(condition, what: str, server: Server):
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        server.check()
        if time.monotonic() > deadline:
            raise server.failed(f"did not {what} within {DEADLINE_S} s")
        time.sleep(0.05)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


def test_workers_share_the_port_and_survive_a_killed_worker(store_home, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "GEO_APP_HOME": str(store_home)}
    cmd = [sys.executable, "-m", "geo_app.cli", "serve", "--port", str(port), "--workers", "2"]
    with Server(f"geo-app serve --workers 2 (port {port})", cmd, tmp_path / "serve.log", env) as server:
        server.wait_http(base + "/ogcapi/conformance")
        _until(lambda: len(_children(server.pid)) == 2, "start two workers", server)
        first = _children(server.pid)
        for _ in range(20):
            assert "conformsTo" in _get(base + "/ogcapi/conformance")
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        # the other worker answers at once; the parent starts a replacement
        for _ in range(10):
            assert _get(base + "/ogcapi/collections/communes/items?limit=1")["numberReturned"] == 1
        _until(lambda: len(_children(server.pid)) == 2 and victim not in _children(server.pid),
               "replace the killed worker", server)
        assert "conformsTo" in _get(base + "/ogcapi/conformance")
        workers = _children(server.pid)
        os.kill(server.pid, signal.SIGTERM)  # the parent alone: it must stop its workers itself
        assert server.proc.wait(timeout=DEADLINE_S) == 0
        assert not [pid for pid in workers if _alive(pid)], "stopping the parent stops its workers"


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except FileNotFoundError:
        return False
