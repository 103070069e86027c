"""``make bench``: every benchmark in one go, and one JSON that says what machine it ran on and how busy
it was, so runs can be compared over time.

    .venv/bin/python bench/run_all.py [--only dossier,web] [--terrain-args "--size 1000 --skip-peer"]
                                      [--web-args "--requests 500"] [--dossier-args "--runs 2"]

Each block runs in its own process with its output in bench/out/logs/<block>.log; the JSON
(bench/out/bench-<UTC time>.json, copied to bench/out/bench.json) holds the machine (cores, memory,
CPU), the git commit, and per block the load averages before and after, its wall time, its exit
status, its figures (the block's own JSON) and, when it failed, the end of its log. A failed block does
not stop the others; the exit status is non-zero when any failed.
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from servers import load, log_tail, machine

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
LOGS = OUT / "logs"


def blocks(terrain_args: str, web_args: str, dossier_args: str = "") -> dict[str, tuple[list[str], Path | None]]:
    """name → (command, the JSON file it writes, if any)."""
    py = sys.executable
    return {
        "dossier": ([py, str(HERE / "bench_dossier.py"), "--json", str(OUT / "bench_dossier.json"),
                     *shlex.split(dossier_args)],
                    OUT / "bench_dossier.json"),
        "web": ([py, str(HERE / "bench_web.py"), "--json", str(OUT / "bench_web.json"), *shlex.split(web_args)],
                OUT / "bench_web.json"),
        # bench_terrain.py prints its tables; its output is kept in the log and the JSON
        "terrain": ([py, str(HERE / "bench_terrain.py"), *shlex.split(terrain_args)], None),
    }


def git_commit() -> str | None:
    run = subprocess.run(["git", "-C", str(HERE), "rev-parse", "HEAD"], capture_output=True, text=True)
    return run.stdout.strip() or None


def run_block(name: str, cmd: list[str], figures: Path | None) -> dict:
    log = LOGS / f"{name}.log"
    LOGS.mkdir(parents=True, exist_ok=True)
    if figures is not None and figures.exists():
        figures.unlink()  # never report an older run's figures
    entry: dict = {"command": cmd, "log": str(log), "load_before": load()}
    print(f"== {name}: {' '.join(cmd)}", flush=True)
    t = time.perf_counter()
    with log.open("wb") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
    entry.update(seconds=round(time.perf_counter() - t, 1), exit_status=rc, load_after=load())
    if figures is not None and figures.exists():
        entry["figures"] = json.loads(figures.read_text(encoding="utf-8"))
    else:
        entry["output"] = log_tail(log, 60)
    if rc != 0:
        entry["failed"] = log_tail(log, 30)
        print(f"   FAILED ({rc}); last lines of {log}:\n{entry['failed']}", flush=True)
    else:
        print(f"   done in {entry['seconds']} s (load {entry['load_before']['1min']} → {entry['load_after']['1min']})",
              flush=True)
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated blocks (dossier, web, terrain); default all")
    parser.add_argument("--terrain-args", default="", help="options for bench_terrain.py")
    parser.add_argument("--web-args", default="", help="options for bench_web.py")
    parser.add_argument("--dossier-args", default="", help="options for bench_dossier.py")
    args = parser.parse_args()
    todo = blocks(args.terrain_args, args.web_args, args.dossier_args)
    chosen = [b.strip() for b in args.only.split(",") if b.strip()] or list(todo)
    unknown = set(chosen) - set(todo)
    if unknown:
        sys.exit(f"unknown block(s): {', '.join(sorted(unknown))}; choose from {', '.join(todo)}")
    started = datetime.now(UTC)
    report = {"started": started.isoformat(timespec="seconds"), "commit": git_commit(), "machine": machine(),
              "blocks": {}}
    for name in chosen:
        report["blocks"][name] = run_block(name, *todo[name])
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    shutil.copyfile(path, OUT / "bench.json")
    print(f"figures: {path} (and {OUT / 'bench.json'})")
    if any(b["exit_status"] != 0 for b in report["blocks"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
