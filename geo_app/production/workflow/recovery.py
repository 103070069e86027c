"""What runs when the application starts: clean what a crash left, verify the audit, re-freeze drafts.

- :func:`clean` removes dossier staging folders (``dossiers/<product>/.v<N>.tmp-*``), half-written uploads
  (``files/.upload-*``) and temporary store files (``.layers-*.tmp.gpkg``), and moves to
  ``workflow/quarantine/<time>/`` dossier zips no confirmed version refers to and uploaded files no
  version refers to. Only what is older than :data:`STALE_AFTER_S` is touched, so another process's work
  in progress (a build, an upload, a confirm) is left alone. Everything done is logged.
- :func:`verify` checks the audit hash chain row by row, that every confirmed version has its ``confirm``
  audit row with the same dossier hash, and the sha256 of every confirmed dossier on disk.
- :func:`startup` runs both; when verification fails the workflow serves reads and refuses writes
  (``repository.require_writable``) and says why.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from geo_app.io.files import sha256_file
from geo_app.production.workflow.repository import (
    GENESIS,
    LOCK_NAME,
    abandoned,
    db_path,
    home,
    refuse_writes,
    row_sha256,
    tx,
)
from geo_app.settings import settings

log = logging.getLogger(__name__)

#: Temporaries younger than this (seconds) may belong to work in progress in another process.
STALE_AFTER_S = 600


@dataclass
class Verification:
    rows: int = 0
    dossiers: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> str | None:
        return self.problems[0] if self.problems else None


def verify() -> Verification:
    """Check the audit chain and every confirmed dossier; the problems found, first bad row first."""
    result = Verification()
    if not db_path().exists():
        return result
    with tx() as con:
        rows = con.execute("SELECT * FROM audit ORDER BY id").fetchall()
        confirmed = con.execute("SELECT * FROM versions WHERE status = 'confirmed' ORDER BY product_id, version"
                                ).fetchall()
    prev = GENESIS
    for row in rows:
        result.rows += 1
        if row["prev_sha256"] != prev:
            result.problems.append(f"audit row {row['id']}: the hash of the previous row does not match (a row was "
                                   "removed, inserted or rewritten before it)")
            break
        if row_sha256(prev, dict(row)) != row["row_sha256"]:
            result.problems.append(f"audit row {row['id']} ({row['action']} {row['product_id']} v{row['version']}): "
                                   "its content does not match its hash (the row was rewritten)")
            break
        prev = row["row_sha256"]
    confirms = {}
    for row in rows:
        if row["action"] == "confirm":
            confirms[(row["product_id"], row["version"])] = json.loads(row["hashes_json"]).get("dossier_zip_sha256")
    for version in confirmed:
        key = (version["product_id"], version["version"])
        result.dossiers += 1
        name = f"{key[0]} v{key[1]}"
        if key not in confirms:
            result.problems.append(f"confirmed version {name}: no confirm row in the audit (inserted outside the "
                                   "workflow)")
            continue
        if confirms[key] != version["dossier_sha256"]:
            result.problems.append(f"confirmed version {name}: its dossier sha256 differs from the audit's")
            continue
        path = Path(version["dossier_file"] or "")
        if not version["dossier_file"] or not path.is_file():
            result.problems.append(f"dossier file {path}: missing ({name})")
        elif sha256_file(path) != version["dossier_sha256"]:
            result.problems.append(f"dossier file {path}: sha256 differs from the stored one ({name})")
    return result


def _old(path: Path, now: float) -> bool:
    try:
        return now - path.lstat().st_mtime >= STALE_AFTER_S
    except FileNotFoundError:
        return False


def _remove(path: Path, done: list[str], why: str) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    done.append(f"removed {path} ({why})")
    log.warning("recovery: removed %s (%s)", path, why)


def _quarantine(path: Path, target: Path, done: list[str], why: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), str(target / path.name))
    done.append(f"quarantined {path} → {target / path.name} ({why})")
    log.warning("recovery: moved %s to %s (%s)", path, target, why)


def clean(now: float | None = None) -> list[str]:
    """Remove or quarantine what a crash left; a line per file or folder dealt with."""
    now = time.time() if now is None else now
    done: list[str] = []
    quarantine = home() / "quarantine" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    store_dir = settings().store_path.parent
    if store_dir.exists():
        for path in store_dir.glob(".layers-*.tmp.gpkg*"):
            if _old(path, now):
                _remove(path, done, "temporary layer-store file of an interrupted build")
    referenced_files: set[str] = set()
    referenced_zips: set[str] = set()
    if db_path().exists():
        with tx() as con:
            for row in con.execute("SELECT area_json, dossier_file, status FROM versions"):
                for p in json.loads(row["area_json"]).get("files", []):
                    referenced_files.add(Path(p).name)
                if row["status"] == "confirmed" and row["dossier_file"]:
                    referenced_zips.add(Path(row["dossier_file"]).name)
    files = home() / "files"
    if files.exists():
        for path in sorted(files.iterdir()):
            if path.name.startswith(".upload-"):
                if abandoned(path):  # its request ended without renaming it: a crash
                    _remove(path, done, "half-written upload")
                continue
            if not _old(path, now):
                continue
            elif not path.name.startswith(".") and path.name not in referenced_files:
                _quarantine(path, quarantine / "files", done, "upload no version refers to")
    dossiers = home() / "dossiers"
    if dossiers.exists():
        for folder in sorted(p for p in dossiers.iterdir() if p.is_dir()):
            for path in sorted(folder.iterdir()):
                if path.is_dir() and (path / LOCK_NAME).exists():  # a confirm's staging folder
                    if abandoned(path / LOCK_NAME):  # its process died before finishing
                        _remove(path, done, "staging of an interrupted confirm")
                    continue
                if not _old(path, now):
                    continue
                if path.name.startswith("."):  # .v<N>.tmp-*, .dossier-*.zip, .*.old-*
                    _remove(path, done, "staging of an interrupted confirm")
                elif path.suffix == ".zip" and path.name not in referenced_zips:
                    _quarantine(path, quarantine / "dossiers" / folder.name, done,
                                "dossier no confirmed version refers to")
                elif path.is_dir():  # a dossier folder of an older release, never referenced
                    _quarantine(path, quarantine / "dossiers" / folder.name, done, "unreferenced dossier folder")
    return done


_STARTED: set[str] = set()


def startup(force: bool = False) -> Verification:
    """Clean, verify, re-freeze drafts; once per process and database unless ``force``."""
    from geo_app.production.workflow.freezing import refreeze_drafts

    key = str(db_path())
    if key in _STARTED and not force:
        result = Verification()
        return result
    _STARTED.add(key)
    for line in clean():
        log.info("%s", line)
    result = verify()
    if result.ok:
        refuse_writes(None)
        try:
            changed = refreeze_drafts()
        except Exception:  # a store that cannot be read now: the drafts keep their frozen boundaries
            log.exception("drafts could not be re-resolved at start")
            changed = []
        if changed:
            log.info("re-resolved %d draft(s) after a store rebuild: %s", len(changed), changed)
    else:
        refuse_writes(result.first)
        log.error("the workflow audit did not verify: %s; writes are refused until it does", result.first)
    return result
