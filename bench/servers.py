"""Processes a benchmark (or a test) starts itself, so that a run either finishes or says why.

Each server's output goes to a log file — never to a pipe that nobody reads: waitress's "Task queue
depth" warnings and a peer's tracebacks fill a 64 KiB pipe and the server then blocks on its next
write, which looks like a slow or hung server. Each is stopped by its own process id (and its process
group, for servers that fork), and a server that exits or does not answer fails the run with its name
and the last lines of its log.
"""
from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


class ServerFailed(RuntimeError):
    """A server the run needs did not start or stopped answering; the message quotes its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:]) or "(empty log)"
    except OSError:
        return "(no log)"


class Server:
    """``cmd`` started in its own process group with stdout+stderr to ``log``."""

    def __init__(self, name: str, cmd: list[str], log: Path, env: dict | None = None):
        self.name, self.cmd, self.log = name, cmd, Path(log)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        self.pid = self.proc.pid

    def failed(self, what: str) -> ServerFailed:
        return ServerFailed(f"{self.name} (pid {self.pid}) {what}; last lines of {self.log}:\n{log_tail(self.log)}")

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise self.failed(f"exited with status {self.proc.returncode}")

    def wait_ready(self, probe, seconds: float = 120) -> None:
        """Poll ``probe()`` (true when the server answers) until it does."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                if probe():
                    return
            except OSError:
                pass
            self.check()
            if time.monotonic() > deadline:
                raise self.failed(f"did not answer within {seconds:.0f} s")
            time.sleep(0.1)

    def wait_http(self, url: str, seconds: float = 120) -> None:
        def probe():
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.status == 200
        self.wait_ready(probe, seconds)

    def stop(self) -> None:
        """Terminate this server's process group (its own id), then kill it if it does not go."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def machine() -> dict:
    """What the figures were measured on: cores (all, and usable by this process), memory, CPU model."""
    info: dict = {"cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)),
                  "arch": platform.machine(), "python": platform.python_version(), "system": platform.platform()}
    try:
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        info["memory_total_mb"] = int(meminfo["MemTotal"].split()[0]) // 1024
        info["memory_available_mb"] = int(meminfo["MemAvailable"].split()[0]) // 1024
    except (OSError, KeyError, ValueError):
        pass
    try:
        models = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")]
        if models:
            info["cpu"] = models[0]
    except OSError:
        pass
    return info


def load() -> dict:
    """The load averages now (1, 5, 15 min), to say how busy the shared machine was."""
    one, five, fifteen = os.getloadavg()
    return {"1min": round(one, 2), "5min": round(five, 2), "15min": round(fifteen, 2)}
