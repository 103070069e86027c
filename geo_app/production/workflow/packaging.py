"""Confirming a version: its dossier made from the frozen boundary, zipped, and put in place atomically.

- At most one confirm of a version succeeds: the state change ``submitted → confirmed`` is a conditional
  UPDATE in one ``BEGIN IMMEDIATE`` transaction; of two attempts only one changes a row.
- Each attempt builds in a staging folder of its own (``dossiers/<product>/.v<N>.tmp-XXXX``). The zip is
  renamed into place inside the winning transaction, just before it commits; a loser (or a failure)
  removes its staging folder and leaves nothing. A crash between the rename and the commit leaves a zip
  no confirmed version refers to: recovery removes it at the next start.
- matplotlib is not thread-safe: rendering runs under one process-wide lock (:data:`RENDER_LOCK`).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path

from geo_app.io.files import sha256_file
from geo_app.production.workflow.actions import get_version
from geo_app.production.workflow.freezing import product_for
from geo_app.production.workflow.repository import (
    LOCK_NAME,
    Version,
    WorkflowError,
    append_audit,
    area_hash,
    hold,
    home,
    now,
    require_writable,
    tx,
)
from geo_app.production.workflow.states import require_second_person, require_status

#: One dossier rendered at a time in this process (matplotlib's pyplot state is global).
RENDER_LOCK = threading.Lock()
PAPERS = ("A3", "A4")


def dossiers_dir(product_id: str) -> Path:
    return home() / "dossiers" / product_id


def package_name(product_id: str, number: int) -> str:
    return f"{product_id}-v{number}.zip"


def _zip_dir(src: Path, target: Path) -> None:
    """A zip of ``src`` with fixed timestamps, so the same dossier gives the same bytes."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(src.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(str(path.relative_to(src)), date_time=(2025, 7, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())


def _make_dossier(product, out_dir: Path, paper: str, version: Version):
    """The dossier drawn from the version's frozen boundary, never resolved again."""
    from geo_app.production.dossier import make_dossier

    return make_dossier(product, out_dir, paper=paper, boundary=version.frozen())


def confirm(product_id: str, number: int, user: str, paper: str = "A3") -> Version:
    """Make the version's dossier, zip it, store its sha256; the row can never change again."""
    if paper not in PAPERS:
        raise WorkflowError("A3 hoặc A4 / must be A3 or A4", 400, "paper")
    require_writable()
    version = get_version(product_id, number)
    require_status(number, version.status, "submitted")
    with tx() as con:
        require_second_person(con, product_id, number, user, "confirm")
    product = product_for(version.area, product_id, "confirmed")
    folder = dossiers_dir(product_id)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".v{number}.tmp-", dir=folder))
    held = hold(staging / LOCK_NAME)  # recovery removes a staging folder only once nobody holds this
    try:
        with RENDER_LOCK:
            # Another attempt may have confirmed it while this one waited for the renderer.
            require_status(number, get_version(product_id, number).status, "submitted")
            try:
                result = _make_dossier(product, staging / "dossier", paper, version)
            except WorkflowError:
                raise
            except Exception as exc:
                message = getattr(exc, "message", None) or str(exc)
                raise WorkflowError(f"không lập được hồ sơ / the dossier could not be made: {message}", 409,
                                    "dossier") from exc
        package = staging / package_name(product_id, number)
        _zip_dir(staging / "dossier", package)
        digest = sha256_file(package)
        final = folder / package_name(product_id, number)
        stamp = now()
        with tx() as con:
            authors = require_second_person(con, product_id, number, user, "confirm")
            updated = con.execute(
                "UPDATE versions SET status = 'confirmed', dossier_file = ?, dossier_sha256 = ?, package_sha256 = ?, "
                "dossier_id = ?, confirmed_by = ?, confirmed_at = ?, updated_at = ?, updated_by = ? "
                "WHERE product_id = ? AND version = ? AND status = 'submitted' AND revision = ?",
                (str(final), digest, result.package_hash, result.dossier_id, user, stamp, stamp, user, product_id,
                 number, version.revision))
            if updated.rowcount != 1:
                raise WorkflowError("trạng thái đã thay đổi / the state changed meanwhile", 409, "status")
            append_audit(con, user, product_id, number, "confirm",
                         {"dossier_id": result.dossier_id, "paper": result.paper, "authors": sorted(authors),
                          "area_ha": version.area_ha, "submitted_by": version.submitted_by},
                         {"area_sha256": area_hash(version.area), "geometry_sha256": version.geometry_sha256,
                          "dossier_zip_sha256": digest, "package_sha256": result.package_hash,
                          "manifest_files": result.files})
            os.chmod(package, 0o444)
            os.replace(package, final)  # only the attempt whose transition commits puts its zip in place
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        os.close(held)
    return get_version(product_id, number)


def dossier_path(product_id: str, number: int) -> Path:
    """The confirmed dossier zip, after checking its sha256 against the stored one. A version that
    does not exist and one that is not confirmed get the same 404 (nothing is said about drafts)."""
    missing = WorkflowError(f"không có hồ sơ đã xác nhận cho phiên bản {number} / no confirmed dossier for version "
                            f"{number}", 404, "version")
    try:
        version = get_version(product_id, number)
    except WorkflowError as exc:
        if exc.status == 404 and exc.field == "version":
            raise missing from None
        raise
    if version.status != "confirmed" or not version.dossier_file:
        raise missing
    path = Path(version.dossier_file)
    if not path.exists() or sha256_file(path) != version.dossier_sha256:
        raise WorkflowError("tệp hồ sơ bị thay đổi hoặc mất / the dossier file is missing or altered", 409, "dossier")
    return path
