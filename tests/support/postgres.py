"""A throwaway PostgreSQL + PostGIS cluster for the tests: initdb in a temporary folder, a Unix socket only (no
TCP port, nothing reachable from outside), stopped and removed at the end.

Debian's packages (``postgresql-15-postgis-3``) provide the binaries. The cluster runs as the ``postgres`` user
when the tests run as root (PostgreSQL refuses to run as root). ``pg_ctl -w`` waits until the server accepts
connections — no fixed sleep — with a generous time-out that load on a busy machine does not reach.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WAIT_SECONDS = "600"


def postgres_bindir() -> Path | None:
    """The newest installed server's bin folder with PostGIS available, or None."""
    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        version = bindir.parent.name
        if (bindir / "initdb").exists() and list(Path(f"/usr/share/postgresql/{version}/extension").glob("postgis.control")):
            return bindir
    return None


def _as_owner(owner: str | None):
    if owner is None:
        return {}
    record = pwd.getpwnam(owner)

    def demote():
        os.setgid(record.pw_gid)
        os.setuid(record.pw_uid)

    return {"preexec_fn": demote}


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Yield a ``postgresql://`` URL of a fresh cluster with PostGIS available."""
    bindir = postgres_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL with PostGIS is not installed (Debian: postgresql-15-postgis-3)")
    owner = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="geo-app-pg-"))
    os.chmod(root, 0o755)
    if owner:
        shutil.chown(root, owner, owner)
    data, socket_dir, log = root / "data", root / "socket", root / "server.log"
    run = dict(check=True, capture_output=True, text=True, **_as_owner(owner))
    try:
        subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", "geo_app", "-A", "trust", "--no-sync",
                        "-E", "UTF8", "--locale", "C.UTF-8"], **run)
        socket_dir.mkdir()
        if owner:
            shutil.chown(socket_dir, owner, owner)
        options = f"-c listen_addresses='' -k {socket_dir} -c fsync=off -c full_page_writes=off"
        subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w",
                        "-t", WAIT_SECONDS, "start"], **run)
        try:
            yield f"postgresql://geo_app@/postgres?host={socket_dir}"
        finally:
            subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", WAIT_SECONDS,
                            "stop"], **run)
    except subprocess.CalledProcessError as exc:
        log_text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"{exc.cmd[0]} failed: {exc.stderr}\n{log_text}") from exc
    finally:
        shutil.rmtree(root, ignore_errors=True)
