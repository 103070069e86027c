"""The workflow under a real server (waitress, 8 threads) with real concurrent clients: two confirms of one
version, two saves of one draft, confirms of all four products at once, and kill -9 during a confirm."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.servers import free_port
from support.web import SERVER_CODE, isolated_home, live_server
from support.workflow import Session, commune_code, commune_codes, ensure_people, submitted

PRODUCT = "rau-an-toan-bao-thang"


@pytest.fixture(scope="module")
def server(store_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("live-workflow")
    with isolated_home(store_home, home):
        ensure_people()
        from geo_app.production import workflow

        workflow.seed_all()
        with live_server(home) as base:
            yield base, home


def _together(*calls):
    """Run the calls in threads released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # reported through the result
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _leftovers(home: Path) -> list[str]:
    dossiers = home / "workflow" / "dossiers"
    return sorted(str(p.relative_to(dossiers)) for p in dossiers.rglob(".*")) if dossiers.exists() else []


def test_two_confirms_of_one_version_one_wins_and_its_zip_is_on_disk(server):
    base, home = server
    from geo_app.production import workflow

    with isolated_home(home, home):
        version = submitted(PRODUCT, commune_code("Xã Bảo Thắng"))
        first, second = Session(base).login("u-approver"), Session(base).login("u-approver2")
        path = f"/products/{PRODUCT}/{version.version}/confirm"
        results = _together(lambda: first.post(path, {"paper": "A3"}), lambda: second.post(path, {"paper": "A4"}))
        statuses = sorted(r[0] for r in results)
        assert statuses == [302, 409], [(r[0], r[1][:200]) for r in results]
        winner = "A3" if results[0][0] == 302 else "A4"
        confirmed = workflow.get_version(PRODUCT, version.version)
        entry = [e for e in workflow.history(PRODUCT) if e["action"] == "confirm"]
        assert len(entry) == 1 and entry[0]["detail"]["paper"] == winner
        assert hashlib.sha256(Path(confirmed.dossier_file).read_bytes()).hexdigest() == confirmed.dossier_sha256
        status, body, _ = Session(base).get(f"/products/{PRODUCT}/{version.version}/dossier.zip")
        assert status == 200 and hashlib.sha256(body).hexdigest() == confirmed.dossier_sha256
        assert _leftovers(home) == [], "the loser leaves nothing"
        assert workflow.verify().ok


def test_two_saves_of_one_draft_one_is_told(server):
    base, home = server
    from geo_app.production import workflow

    with isolated_home(home, home):
        product = "sa-bao-yen"
        opened = workflow.latest(product).token
        before = len(workflow.history(product))
        one, two = Session(base).login("u-officer"), Session(base).login("u-officer2")
        one.get(f"/products/{product}")
        two.get(f"/products/{product}")
        path = f"/products/{product}/draft"
        results = _together(
            lambda: one.post(path, {"revision": opened, "communes_2025": commune_code("Xã Bảo Yên")}),
            lambda: two.post(path, {"revision": opened, "communes_2025": commune_code("Xã Bảo Hà")}))
        assert sorted(r[0] for r in results) == [302, 409], [(r[0], r[1][:200]) for r in results]
        loser = next(r for r in results if r[0] == 409)
        assert b"revision" in loser[1]
        assert len(workflow.history(product)) == before + 1


def test_confirms_of_all_four_products_at_once(server):
    base, home = server
    from geo_app.production import workflow

    with isolated_home(home, home):
        products = sorted(workflow.products())
        numbers = {pid: submitted(pid, code).version for pid, code in zip(products, commune_codes(len(products)))}
        approvers = [Session(base).login("u-approver") for _ in products]
        started = time.perf_counter()
        results = _together(*[
            (lambda s=s, pid=pid: s.post(f"/products/{pid}/{numbers[pid]}/confirm", {"paper": "A4"}))
            for s, pid in zip(approvers, products)])
        elapsed = time.perf_counter() - started
        assert [r[0] for r in results] == [302] * len(products), [(r[0], r[1][:300]) for r in results]
        for pid in products:
            version = workflow.get_version(pid, numbers[pid])
            assert version.status == "confirmed" and Path(version.dossier_file).is_file()
        assert _leftovers(home) == [] and workflow.verify().ok
        print(f"four confirms at once: {elapsed:.1f} s (shared 2-core machine)")


def test_kill_9_during_a_confirm_then_start(server, store_home, tmp_path):
    _, shared_home = server
    from geo_app.production import workflow

    home = tmp_path / "home"
    with isolated_home(store_home, home):
        ensure_people()
        version = submitted(PRODUCT, commune_code("Xã Bảo Thắng"))
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-c", SERVER_CODE, str(port)], env={**os.environ, "GEO_APP_HOME": str(home)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    approver = Session(base).login("u-approver")
                    break
                except OSError:
                    assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.2)
            def send():
                try:
                    approver.post(f"/products/{PRODUCT}/{version.version}/confirm", {"paper": "A4"})
                except OSError:  # the server is killed under it
                    pass

            sender = threading.Thread(target=send)
            sender.start()
            staging_dir = home / "workflow" / "dossiers" / PRODUCT
            while not (staging_dir.exists() and any(p.name.startswith(".v") for p in staging_dir.iterdir())):
                assert sender.is_alive() and time.monotonic() < deadline, "the confirm never started staging"
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        sender.join()
        assert workflow.get_version(PRODUCT, version.version).status == "submitted", "nothing half-visible"
        assert [p.name for p in staging_dir.iterdir() if not p.name.startswith(".")] == []
        with live_server(home) as base:  # start again: recovery runs
            assert _leftovers(home) == [], "nothing orphaned"
            assert workflow.verify().ok
            status, _, _ = Session(base).login("u-approver").post(f"/products/{PRODUCT}/{version.version}/confirm",
                                                                  {"paper": "A4"})
            assert status == 302 and workflow.get_version(PRODUCT, version.version).status == "confirmed"
