"""The production-area confirmation workflow: drafts, validation, submission, confirmation.

Framework-free (the Flask views in ``geo_app.serve.web.workflow_views`` only parse and format). State lives in
``$GEO_APP_HOME/workflow.sqlite3``; uploaded files and dossiers under ``$GEO_APP_HOME/workflow/``.

- An officer creates or edits a **draft** version of a product's area (2025 communes, former communes,
  an uploaded polygon file), sees its validation report (``geo_app.production.validation.check``) and **submits** it.
- An approver **confirms** it (the dossier is generated with ``geo_app.production.dossier.make_dossier``, zipped,
  and its sha256 stored) or **returns** it with a comment (it becomes a draft again).
- A confirmed version never changes (SQLite triggers refuse it); editing starts a new draft version.
- Every action appends a row to the audit log (who, when, what, hashes); triggers refuse UPDATE/DELETE.
- Version 1 of every product is **seeded** as a draft from its definition (``layers/products/<id>.yaml``)
  the first time anything reads the product's state, once per product (audit action ``seed``, actor
  ``system``), so officers start from the public-source default instead of an empty page.
- Each change is one SQLite transaction; files are written to a temporary name and renamed into place,
  so a crash mid-request leaves the previous state.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from geo_app.errors import ConflictError
from geo_app.io.sqlite import transaction
from geo_app.settings import settings

UPLOAD_SUFFIXES = (".gpkg", ".geojson", ".json", ".zip", ".kml", ".kmz", ".csv", ".xlsx", ".gpx")

SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY,
    product_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'confirmed')),
    area_json TEXT NOT NULL,
    report_json TEXT,
    comment TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    dossier_file TEXT,
    dossier_sha256 TEXT,
    package_sha256 TEXT,
    dossier_id TEXT,
    confirmed_by TEXT,
    confirmed_at TEXT,
    UNIQUE (product_id, version)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    product_id TEXT NOT NULL,
    version INTEGER,
    action TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    hashes_json TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS confirmed_frozen BEFORE UPDATE ON versions WHEN OLD.status = 'confirmed'
BEGIN SELECT RAISE(ABORT, 'a confirmed version cannot change'); END;
CREATE TRIGGER IF NOT EXISTS confirmed_kept BEFORE DELETE ON versions WHEN OLD.status = 'confirmed'
BEGIN SELECT RAISE(ABORT, 'a confirmed version cannot be deleted'); END;
-- INSERT OR REPLACE / UPDATE OR REPLACE delete the clashing row without firing the delete trigger
-- (unless recursive_triggers is on, as geo_app.io.sqlite sets it): refuse any write clashing with a confirmed row.
CREATE TRIGGER IF NOT EXISTS confirmed_not_replaced BEFORE INSERT ON versions
WHEN EXISTS (SELECT 1 FROM versions WHERE status = 'confirmed'
             AND (id = NEW.id OR (product_id = NEW.product_id AND version = NEW.version)))
BEGIN SELECT RAISE(ABORT, 'a confirmed version cannot be replaced'); END;
CREATE TRIGGER IF NOT EXISTS confirmed_not_overwritten BEFORE UPDATE ON versions
WHEN EXISTS (SELECT 1 FROM versions WHERE status = 'confirmed' AND id != OLD.id
             AND (id = NEW.id OR (product_id = NEW.product_id AND version = NEW.version)))
BEGIN SELECT RAISE(ABORT, 'a confirmed version cannot be replaced'); END;
"""
#: Status names inside Vietnamese and English text.
STATUS_NAMES = {"draft": ("bản nháp", "draft"), "submitted": ("đã trình", "submitted"),
                "confirmed": ("đã xác nhận", "confirmed")}


class WorkflowError(ConflictError):
    """A refused action: ``status`` 400 (bad input, ``field`` names it), 404 or 409 (wrong state)."""

    def __init__(self, message: str, status: int = 400, field: str | None = None):
        super().__init__(f"{field}: {message}" if field else message)
        self.status, self.field = status, field


@dataclass(frozen=True)
class Version:
    product_id: str
    version: int
    status: str
    area: dict
    report: dict | None
    comment: str | None
    created_by: str
    created_at: str
    updated_at: str
    dossier_file: str | None
    dossier_sha256: str | None
    package_sha256: str | None
    dossier_id: str | None
    confirmed_by: str | None
    confirmed_at: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def home() -> Path:
    return settings().home / "workflow"


def db_path() -> Path:
    return settings().home / "workflow.sqlite3"


@contextmanager
def _tx() -> Iterator[sqlite3.Connection]:
    with transaction(db_path(), SCHEMA) as con:
        yield con


def _version(row) -> Version | None:
    if row is None:
        return None
    return Version(row["product_id"], row["version"], row["status"], json.loads(row["area_json"]),
                   json.loads(row["report_json"]) if row["report_json"] else None, row["comment"], row["created_by"],
                   row["created_at"], row["updated_at"], row["dossier_file"], row["dossier_sha256"],
                   row["package_sha256"], row["dossier_id"], row["confirmed_by"], row["confirmed_at"])


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _area_hash(area: dict) -> str:
    return _sha256(json.dumps(area, sort_keys=True, ensure_ascii=False).encode())


def _audit(con, user: str, product_id: str, version: int | None, action: str, detail: dict, hashes: dict) -> None:
    con.execute(
        "INSERT INTO audit (at, user, product_id, version, action, detail_json, hashes_json) VALUES (?,?,?,?,?,?,?)",
        (_now(), user, product_id, version, action, json.dumps(detail, ensure_ascii=False, sort_keys=True),
         json.dumps(hashes, sort_keys=True)),
    )


# --- reading ---------------------------------------------------------------------------------------

def products() -> dict:
    from geo_app.production.products import load_products

    return load_products()


def base_product(product_id: str):
    found = products()
    if product_id not in found:
        raise WorkflowError(f"Không có sản phẩm '{product_id}' / no product '{product_id}'", 404, "product")
    return found[product_id]


SEED_USER = "system"
SEED_ACTION = "seed"
SEED_NOTE = "khởi tạo từ định nghĩa / seeded from the definition"
_SEEDED: set[tuple[str, str]] = set()


def ensure_seeded(product_id: str) -> bool:
    """Seed version 1 of the product as a draft from its definition, once per product.

    Idempotent and safe under concurrent requests: the check and the insert run in one ``BEGIN
    IMMEDIATE`` transaction, so of two callers only the first inserts; a product that already has a
    version, or was seeded before (even if its seed was later replaced), is left alone. The
    validation report is computed outside the transaction (it can take a second). Returns True when
    this call seeded the product.
    """
    key = (str(db_path()), product_id)
    if key in _SEEDED:
        return False

    def present(con) -> bool:
        return con.execute(
            "SELECT 1 FROM versions WHERE product_id = ? UNION ALL "
            "SELECT 1 FROM audit WHERE product_id = ? AND action = ? LIMIT 1",
            (product_id, product_id, SEED_ACTION)).fetchone() is not None

    with _tx() as con:
        if present(con):
            _SEEDED.add(key)
            return False
    area = default_area(product_id)
    report = validate(base_product(product_id))
    now = _now()
    with _tx() as con:
        if present(con):  # another request seeded it meanwhile
            _SEEDED.add(key)
            return False
        con.execute(
            "INSERT INTO versions (product_id, version, status, area_json, report_json, created_by, created_at, updated_at)"
            " VALUES (?, 1, 'draft', ?, ?, ?, ?, ?)",
            (product_id, json.dumps(area, ensure_ascii=False), json.dumps(report, ensure_ascii=False), SEED_USER, now, now),
        )
        _audit(con, SEED_USER, product_id, 1, SEED_ACTION,
               {"note": SEED_NOTE, "area": area, "validation_ok": report.get("ok"), "area_ha": report.get("area_ha")},
               {"area_sha256": _area_hash(area)})
    _SEEDED.add(key)
    return True


def seed_all() -> list[str]:
    """Seed every product that has no version yet; the ids seeded by this call."""
    return [pid for pid in products() if ensure_seeded(pid)]


def versions(product_id: str) -> list[Version]:
    ensure_seeded(product_id)
    with _tx() as con:
        rows = con.execute("SELECT * FROM versions WHERE product_id = ? ORDER BY version", (product_id,)).fetchall()
    return [_version(r) for r in rows]


def latest(product_id: str, include_drafts: bool = True) -> Version | None:
    found = [v for v in versions(product_id) if include_drafts or v.status == "confirmed"]
    return found[-1] if found else None


def get_version(product_id: str, number: int) -> Version:
    ensure_seeded(product_id)
    with _tx() as con:
        row = con.execute("SELECT * FROM versions WHERE product_id = ? AND version = ?", (product_id, number)).fetchone()
    if row is None:
        raise WorkflowError(f"Không có phiên bản {number} / no version {number} of '{product_id}'", 404, "version")
    return _version(row)


def history(product_id: str) -> list[dict]:
    ensure_seeded(product_id)
    with _tx() as con:
        rows = con.execute("SELECT * FROM audit WHERE product_id = ? ORDER BY id", (product_id,)).fetchall()
    return [{"at": r["at"], "user": r["user"], "version": r["version"], "action": r["action"],
             "detail": json.loads(r["detail_json"]), "hashes": json.loads(r["hashes_json"])} for r in rows]


def default_area(product_id: str) -> dict:
    area = base_product(product_id).area
    return {"communes_2025": list(area.communes_2025), "former_communes": list(area.former_communes),
            "former_districts": list(area.former_districts), "files": [str(p) for p in area.files]}


def product_for(version: Version | None, product_id: str, status: str | None = None):
    """The catalogue product with the version's area (what validation and the dossier read)."""
    from geo_app.production.products import AreaDefinition

    base = base_product(product_id)
    if version is None:
        return base
    area = version.area
    definition = AreaDefinition(
        communes_2025=tuple(area.get("communes_2025", ())), former_communes=tuple(area.get("former_communes", ())),
        former_districts=tuple(area.get("former_districts", ())), files=tuple(Path(p) for p in area.get("files", ())),
        former_commune_boundaries=base.area.former_commune_boundaries, note=base.area.note,
    )
    return dataclasses.replace(base, area=definition, status=status or version.status, path=None)


def validate(product) -> dict:
    from geo_app.production.validation import check

    try:
        return check(product).to_dict()
    except Exception as exc:  # a resolution problem is a finding, not a crash
        return {"product_id": product.id, "ok": False, "area_ha": 0.0, "perimeter_m": 0.0, "valid": False,
                "findings": [{"level": "error", "code": "resolve", "message": str(exc)}],
                "communes": [], "former_communes": [], "overlaps": []}


# --- input -----------------------------------------------------------------------------------------

#: Version numbers in URLs: ASCII digits only, 1 to this (SQLite INTEGER is 64-bit; no product comes near).
MAX_VERSION = 2**31 - 1
_ASCII_NUMBER = re.compile(r"[0-9]{1,10}")


def parse_version(text) -> int:
    """A version number from a URL: ASCII digits only (no sign, space, underscore or other scripts'
    digits), 1 ≤ n ≤ MAX_VERSION; anything else raises WorkflowError 400 naming ``version``."""
    if not isinstance(text, str) or not _ASCII_NUMBER.fullmatch(text) or not 1 <= int(text) <= MAX_VERSION:
        shown = str(text)[:40]
        raise WorkflowError(f"'{shown}' không phải số nguyên từ 1 đến {MAX_VERSION} / is not an integer from 1 to "
                            f"{MAX_VERSION}", 400, "version")
    return int(text)


def parse_codes(values, width: int, field: str) -> list[str]:
    """Codes from form values (lists or comma/space separated); wrong ones raise naming the field."""
    codes = []
    for value in values or []:
        for part in str(value).replace(",", " ").split():
            code = part.strip().zfill(width)
            if not code.isdigit() or len(code) != width:
                raise WorkflowError(f"'{part}' không phải mã GSO {width} chữ số / is not a {width}-digit GSO code", 400, field)
            if code not in codes:
                codes.append(code)
    return codes


def check_codes(area: dict) -> None:
    from geo_app import layers

    known_new = set(layers.read("communes")["code"].astype(str))
    known_old = set(layers.read("former-communes")["code"].astype(str))
    known_districts = set(layers.read("former-districts")["code"].astype(str))
    for field, known in (("communes_2025", known_new), ("former_communes", known_old),
                         ("former_districts", known_districts)):
        if not area.get(field):
            continue
        unknown = [c for c in area.get(field, []) if c not in known]
        if unknown:
            raise WorkflowError(f"mã không có trong kho / unknown codes {', '.join(unknown)}", 400, field)


def _public_message(text: str, tmp: str, shown: str) -> str:
    """An importer's message about the stored temporary file, as the user should read it: their
    file name instead of the temporary one, and no server path."""
    for path in sorted({str(Path(tmp).resolve()), str(tmp)}, key=len, reverse=True):
        text = text.replace(f"/vsizip/{path}", shown).replace(path, shown)
    text = text.replace(Path(tmp).name, shown)
    for folder in sorted({str(home().resolve()), str(home()), str(settings().home.resolve()), str(settings().home),
                          tempfile.gettempdir()}, key=len, reverse=True):
        text = text.replace(folder + os.sep, "").replace(folder, "…")
    return text


def store_upload(filename: str, stream) -> Path:
    """Check and keep an uploaded polygon file (content-addressed, immutable); ImportFailed → 400."""
    return _store_upload(filename, stream)[0]


def _store_upload(filename: str, stream) -> tuple[Path, bool]:
    """``store_upload``, also saying whether this call created the file (False: it was kept already)."""
    from geo_app.importers import read_features

    shown = Path((filename or "").replace("\\", "/")).name or "?"
    suffix = Path(filename or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise WorkflowError(f"định dạng '{suffix or '?'}' không hỗ trợ / unsupported format; use "
                            + ", ".join(UPLOAD_SUFFIXES), 400, "file")
    target_dir = home() / "files"
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=suffix, dir=target_dir)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: stream.read(1 << 16), b""):
                h.update(chunk)
                out.write(chunk)
        try:
            result = read_features(tmp, kind="polygon")
        except Exception as exc:  # ImportFailed, or a parser's own error
            raise WorkflowError(_public_message(str(exc), tmp, shown), 400, "file") from None
        polys = [g for g in result.frame.geometry.values if g is not None and g.geom_type in ("Polygon", "MultiPolygon")]
        if not polys:
            raise WorkflowError(f"tệp '{shown}' không có vùng (polygon) / the file '{shown}' holds no polygon", 400, "file")
        final = target_dir / f"{h.hexdigest()}{suffix}"
        created = not final.exists()
        os.replace(tmp, final)
        return final, created
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --- actions ---------------------------------------------------------------------------------------

def save_draft(product_id: str, user: str, area: dict, upload: tuple | None = None) -> Version:
    """Create or update the product's draft. Editing a confirmed version starts a new draft version;
    a submitted version must be returned first.

    ``upload``: (file name, binary stream) of a polygon file to add to the area. It is stored only
    after every other field and the product's state have been checked, and removed again if the
    save fails, so a refused request leaves nothing behind."""
    base_product(product_id)
    area = {"communes_2025": list(area.get("communes_2025", [])), "former_communes": list(area.get("former_communes", [])),
            "former_districts": list(area.get("former_districts", [])), "files": list(area.get("files", []))}
    if upload is None and not any(area.values()):
        raise WorkflowError("chọn ít nhất một xã hoặc tải lên một tệp / pick at least one commune or upload a file",
                            400, "communes_2025")
    check_codes(area)
    current = latest(product_id)
    if current is not None and current.status == "submitted":
        raise WorkflowError("phiên bản đang chờ phê duyệt; cần trả lại trước khi sửa / the version is awaiting approval; "
                            "it must be returned before editing", 409, "status")
    if upload is None:
        return _save_draft(product_id, user, area)
    path, created = _store_upload(*upload)
    try:
        return _save_draft(product_id, user, {**area, "files": [*area["files"], str(path)]})
    except BaseException:
        if created:
            path.unlink(missing_ok=True)
        raise


def _save_draft(product_id: str, user: str, area: dict) -> Version:
    probe = product_for(Version(product_id, 0, "draft", area, None, None, user, "", "", None, None, None, None, None, None),
                        product_id, "draft")
    report = validate(probe)
    now = _now()
    with _tx() as con:
        row = con.execute("SELECT * FROM versions WHERE product_id = ? ORDER BY version DESC LIMIT 1",
                          (product_id,)).fetchone()
        if row is not None and row["status"] == "draft":
            number, action = row["version"], "edit-draft"
            con.execute("UPDATE versions SET area_json = ?, report_json = ?, updated_at = ? WHERE id = ?",
                        (json.dumps(area, ensure_ascii=False), json.dumps(report, ensure_ascii=False), now, row["id"]))
        elif row is not None and row["status"] == "submitted":
            raise WorkflowError("phiên bản đang chờ phê duyệt / the version is awaiting approval", 409, "status")
        else:
            number, action = (row["version"] + 1 if row else 1), "create-draft"
            con.execute(
                "INSERT INTO versions (product_id, version, status, area_json, report_json, created_by, created_at, updated_at)"
                " VALUES (?, ?, 'draft', ?, ?, ?, ?, ?)",
                (product_id, number, json.dumps(area, ensure_ascii=False), json.dumps(report, ensure_ascii=False),
                 user, now, now),
            )
        files = {Path(p).name: _sha256_file(Path(p)) for p in area["files"] if Path(p).exists()}
        _audit(con, user, product_id, number, action,
               {"area": area, "validation_ok": report.get("ok"), "area_ha": report.get("area_ha")},
               {"area_sha256": _area_hash(area), "files": files})
    return get_version(product_id, number)


def _transition(product_id: str, number: int, user: str, expected: str, action: str) -> Version:
    version = get_version(product_id, number)
    if version.status != expected:
        (now_vi, now_en), (want_vi, want_en) = STATUS_NAMES[version.status], STATUS_NAMES[expected]
        raise WorkflowError(f"phiên bản {number} đang ở trạng thái «{now_vi}», cần «{want_vi}» / version {number} "
                            f"is '{now_en}', must be '{want_en}'", 409, "status")
    return version


def submit(product_id: str, number: int, user: str) -> Version:
    version = _transition(product_id, number, user, "draft", "submit")
    if not (version.report or {}).get("ok"):
        raise WorkflowError("báo cáo kiểm tra còn lỗi; sửa trước khi trình / the validation report has errors; fix them "
                            "before submitting", 409, "report")
    with _tx() as con:
        updated = con.execute("UPDATE versions SET status = 'submitted', comment = NULL, updated_at = ? "
                              "WHERE product_id = ? AND version = ? AND status = 'draft'", (_now(), product_id, number))
        if updated.rowcount != 1:
            raise WorkflowError("trạng thái đã thay đổi / the state changed meanwhile", 409, "status")
        _audit(con, user, product_id, number, "submit", {}, {"area_sha256": _area_hash(version.area)})
    return get_version(product_id, number)


def return_version(product_id: str, number: int, user: str, comment: str) -> Version:
    comment = (comment or "").strip()
    if not comment:
        raise WorkflowError("cần ghi lý do trả lại / a comment is required", 400, "comment")
    if len(comment) > 4000:
        raise WorkflowError("tối đa 4000 ký tự / at most 4000 characters", 400, "comment")
    version = _transition(product_id, number, user, "submitted", "return")
    with _tx() as con:
        updated = con.execute("UPDATE versions SET status = 'draft', comment = ?, updated_at = ? "
                              "WHERE product_id = ? AND version = ? AND status = 'submitted'",
                              (comment, _now(), product_id, number))
        if updated.rowcount != 1:
            raise WorkflowError("trạng thái đã thay đổi / the state changed meanwhile", 409, "status")
        _audit(con, user, product_id, number, "return", {"comment": comment}, {"area_sha256": _area_hash(version.area)})
    return get_version(product_id, number)


def _zip_dir(src: Path, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".dossier-", suffix=".zip", dir=target.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(src.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo(str(path.relative_to(src)), date_time=(2025, 7, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, path.read_bytes())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def confirm(product_id: str, number: int, user: str, paper: str = "A3") -> Version:
    """Freeze the version: make its dossier, zip it, store the sha256; the row can never change again."""
    from geo_app.production.dossier import make_dossier

    version = _transition(product_id, number, user, "submitted", "confirm")
    product = product_for(version, product_id, "confirmed")
    out = home() / "dossiers" / product_id / f"v{number}"
    if out.exists():  # a previous attempt that crashed before the database said "confirmed"
        shutil.rmtree(out)
    try:
        result = make_dossier(product, out, paper=paper)
    except Exception as exc:
        raise WorkflowError(f"không lập được hồ sơ / the dossier could not be made: {exc}", 409, "dossier") from exc
    package = out.parent / f"{product_id}-v{number}.zip"
    _zip_dir(out, package)
    digest = _sha256_file(package)
    now = _now()
    with _tx() as con:
        updated = con.execute(
            "UPDATE versions SET status = 'confirmed', dossier_file = ?, dossier_sha256 = ?, package_sha256 = ?, "
            "dossier_id = ?, confirmed_by = ?, confirmed_at = ?, updated_at = ? "
            "WHERE product_id = ? AND version = ? AND status = 'submitted'",
            (str(package), digest, result.package_hash, result.dossier_id, user, now, now, product_id, number),
        )
        if updated.rowcount != 1:
            raise WorkflowError("trạng thái đã thay đổi / the state changed meanwhile", 409, "status")
        _audit(con, user, product_id, number, "confirm", {"dossier_id": result.dossier_id, "paper": paper},
               {"area_sha256": _area_hash(version.area), "dossier_zip_sha256": digest,
                "package_sha256": result.package_hash, "manifest_files": result.files})
    try:
        os.chmod(package, 0o444)
    except OSError:
        pass
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
    if not path.exists() or _sha256_file(path) != version.dossier_sha256:
        raise WorkflowError("tệp hồ sơ bị thay đổi hoặc mất / the dossier file is missing or altered", 409, "dossier")
    return path


def shown_findings(version: Version) -> list[dict]:
    """The validation findings to show for a version. A confirmed version's report was frozen while
    it was a draft: its "draft, not confirmed" note is left out (the page says who confirmed it)."""
    findings = list((version.report or {}).get("findings", []))
    if version.status == "confirmed":
        findings = [f for f in findings if f.get("code") != "draft"]
    return findings


# --- the map layer -----------------------------------------------------------------------------------

_AREA_CACHE: dict[tuple, dict | None] = {}


def _area_feature(product_id: str, version: Version | None) -> dict | None:
    """One production area as a GeoJSON feature in WGS 84 (5 m simplification), cached per version."""
    key = (str(settings().store_path), product_id, version.version if version else 0, version.updated_at if version else "")
    if key not in _AREA_CACHE:
        import geopandas as gpd
        import shapely

        from geo_app.production.area import resolve

        base = base_product(product_id)
        try:
            resolved = resolve(product_for(version, product_id))
            geom = resolved.geometry
        except Exception:  # an area that cannot be resolved is simply not drawn
            geom = None
        if geom is None or geom.is_empty:
            _AREA_CACHE[key] = None
        else:
            wgs = gpd.GeoSeries([shapely.simplify(geom, 5.0)], crs="EPSG:9208").to_crs("EPSG:4326").iloc[0]
            _AREA_CACHE[key] = {
                "type": "Feature",
                "properties": {"product_id": product_id, "name": base.name.get("vi"), "full_name": base.name.get("vi"),
                               "status": version.status if version else "draft", "version": version.version if version else 0,
                               "area_ha": round(geom.area / 1e4, 2)},
                "geometry": json.loads(shapely.to_geojson(shapely.set_precision(wgs, 1e-6))),
            }
    return _AREA_CACHE[key]


def area_features(include_drafts: bool) -> dict:
    """The latest visible version of every product's area. Anonymous users and viewers see confirmed
    versions only; officers and approvers also drafts (a product without versions shows its catalogue
    default as a draft, never as confirmed)."""
    features = []
    for product_id in products():
        version = latest(product_id, include_drafts=include_drafts)
        if version is None and not include_drafts:
            continue
        feature = _area_feature(product_id, version)
        if feature is not None:
            features.append(feature)
    return {"type": "FeatureCollection", "features": features}
