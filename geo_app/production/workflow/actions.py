"""Reading versions and the officer's and approver's actions: save a draft, submit, return.

Each action is one ``BEGIN IMMEDIATE`` transaction that re-reads the row it changes, so two people
acting at once never both succeed on the same state. Confirming is in ``packaging``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from geo_app.importers import original_names
from geo_app.io.files import sha256_file
from geo_app.production.workflow.freezing import (
    base_product,
    freeze_area,
    frozen_columns,
    frozen_hashes,
    store_fingerprint,
)
from geo_app.production.workflow.repository import (
    Version,
    WorkflowError,
    append_audit,
    area_hash,
    audit_rows,
    dumps,
    hold,
    home,
    now,
    require_writable,
    tx,
    version_from_row,
)
from geo_app.production.workflow.seeding import ensure_seeded
from geo_app.production.workflow.states import require_second_person, require_status
from geo_app.settings import settings

UPLOAD_SUFFIXES = (".gpkg", ".geojson", ".json", ".zip", ".kml", ".kmz", ".csv", ".xlsx", ".gpx")

# --- reading ---------------------------------------------------------------------------------------


def versions(product_id: str) -> list[Version]:
    ensure_seeded(product_id)
    with tx() as con:
        rows = con.execute("SELECT * FROM versions WHERE product_id = ? ORDER BY version", (product_id,)).fetchall()
    return [version_from_row(r) for r in rows]


def latest(product_id: str, include_drafts: bool = True) -> Version | None:
    found = [v for v in versions(product_id) if include_drafts or v.status == "confirmed"]
    return found[-1] if found else None


def get_version(product_id: str, number: int) -> Version:
    ensure_seeded(product_id)
    with tx() as con:
        row = con.execute("SELECT * FROM versions WHERE product_id = ? AND version = ?", (product_id, number)).fetchone()
    if row is None:
        raise WorkflowError(f"Không có phiên bản {number} / no version {number} of '{product_id}'", 404, "version")
    return version_from_row(row)


def history(product_id: str) -> list[dict]:
    ensure_seeded(product_id)
    with tx() as con:
        rows = audit_rows(con, product_id)
    return [{"at": r["at"], "user": r["user"], "version": r["version"], "action": r["action"],
             "detail": json.loads(r["detail_json"]), "hashes": json.loads(r["hashes_json"])} for r in rows]


def shown_findings(version: Version) -> list[dict]:
    """The validation findings to show for a version. A confirmed version's report was frozen while
    it was a draft: its "draft, not confirmed" note is left out (the page says who confirmed it)."""
    findings = list((version.report or {}).get("findings", []))
    if version.status == "confirmed":
        findings = [f for f in findings if f.get("code") != "draft"]
    return findings


# --- input -----------------------------------------------------------------------------------------

#: Version numbers in URLs: ASCII digits only, 1 to this (SQLite INTEGER is 64-bit; no product comes near).
MAX_VERSION = 2**31 - 1
_ASCII_NUMBER = re.compile(r"[0-9]{1,10}")
_TOKEN = re.compile(r"[0-9]{1,10}\.[0-9]{1,10}")


def parse_version(text) -> int:
    """A version number from a URL: ASCII digits only (no sign, space, underscore or other scripts'
    digits), 1 ≤ n ≤ MAX_VERSION; anything else raises WorkflowError 400 naming ``version``."""
    if not isinstance(text, str) or not _ASCII_NUMBER.fullmatch(text) or not 1 <= int(text) <= MAX_VERSION:
        shown = str(text)[:40]
        raise WorkflowError(f"'{shown}' không phải số nguyên từ 1 đến {MAX_VERSION} / is not an integer from 1 to "
                            f"{MAX_VERSION}", 400, "version")
    return int(text)


def parse_revision(text) -> str | None:
    """The "<version>.<revision>" a form was edited from; None when the form sent none."""
    if text is None or text == "":
        return None
    if not isinstance(text, str) or not _TOKEN.fullmatch(text):
        raise WorkflowError(f"'{str(text)[:40]}' không phải mã phiên bản dạng 3.2 / is not a revision like 3.2", 400,
                            "revision")
    return text


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

    for field, layer_id in (("communes_2025", "communes"), ("former_communes", "former-communes"),
                            ("former_districts", "former-districts")):
        if not area.get(field):
            continue
        known = set(layers.read(layer_id)["code"].astype(str))
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
    hold(Path(tmp), fd)  # held while this request writes it: recovery leaves it alone until then
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

def _stale(con, product_id: str, edited_from: str, row) -> WorkflowError:
    """The 409 of a save edited from an older state: who changed what, and when."""
    last = con.execute("SELECT * FROM audit WHERE product_id = ? ORDER BY id DESC LIMIT 1", (product_id,)).fetchone()
    from geo_app.production.workflow.states import action_words

    who = last["user"] if last else (row["updated_by"] or row["created_by"])
    when = last["at"] if last else row["updated_at"]
    vi, en = action_words(last["action"]) if last else ("thay đổi", "changed")
    detail = {"who": who, "when": when, "action": last["action"] if last else None, "action_vi": vi,
              "action_en": en, "version": row["version"], "revision": row["revision"],
              "current": f"{row['version']}.{row['revision']}", "edited_from": edited_from,
              "area_ha": row["area_ha"]}
    return WorkflowError(f"bản nháp đã được {who} thay đổi lúc {when} ({vi.lower()}, phiên bản {row['version']}) sau "
                         f"khi bạn mở trang; xem lại rồi lưu lại / the draft was changed by {who} at {when} "
                         f"({en.lower()}, version {row['version']}) after you opened the page; review it and save "
                         "again", 409, "revision", detail)


def save_draft(product_id: str, user: str, area: dict, upload: tuple | None = None,
               edited_from: str | None = None) -> Version:
    """Create or update the product's draft and freeze its boundary. Editing a confirmed version starts a
    new draft version; a submitted version must be returned first.

    ``edited_from``: the "<version>.<revision>" the officer's form showed (``Version.token``). When the
    product changed since, the save is refused (409, ``revision``) naming who changed what and when.
    ``upload``: (file name, binary stream) of a polygon file to add to the area. It is stored only after
    every other field and the product's state have been checked, and removed again if the save fails,
    so a refused request leaves nothing behind."""
    base_product(product_id)
    area = {"communes_2025": list(area.get("communes_2025", [])), "former_communes": list(area.get("former_communes", [])),
            "former_districts": list(area.get("former_districts", [])), "files": list(area.get("files", []))}
    if upload is None and not any(area.values()):
        raise WorkflowError("chọn ít nhất một xã hoặc tải lên một tệp / pick at least one commune or upload a file",
                            400, "communes_2025")
    check_codes(area)
    require_writable()
    current = latest(product_id)
    if current is not None and current.status == "submitted":
        raise WorkflowError("phiên bản đang chờ phê duyệt; cần trả lại trước khi sửa / the version is awaiting approval; "
                            "it must be returned before editing", 409, "status")
    if edited_from is not None and current is not None and edited_from != current.token:
        with tx() as con:
            row = con.execute("SELECT * FROM versions WHERE product_id = ? AND version = ?",
                              (product_id, current.version)).fetchone()
            raise _stale(con, product_id, edited_from, row)
    names = dict((current.file_names or {}) if current else {})
    if upload is None:
        return _save_draft(product_id, user, area, edited_from, names)
    path, created = _store_upload(*upload)
    # the names the officer's files had (all parts of a shapefile), as the upload form recorded them
    sent = [n for n in original_names(path) if n != path.name]
    names[path.name] = ", ".join(sent) if sent else Path((upload[0] or "").replace("\\", "/")).name
    try:
        return _save_draft(product_id, user, {**area, "files": [*area["files"], str(path)]}, edited_from, names,
                           uploaded=names[path.name])
    except BaseException:
        if created:
            path.unlink(missing_ok=True)
        raise


def _save_draft(product_id: str, user: str, area: dict, edited_from: str | None, names: dict,
                uploaded: str | None = None) -> Version:
    frozen = freeze_area(product_id, area)
    cols = frozen_columns(frozen, store_fingerprint())
    names = {k: v for k, v in names.items() if any(Path(p).name == k for p in area["files"])}
    cols["file_names_json"] = dumps(names)
    stamp = now()
    with tx() as con:
        row = con.execute("SELECT * FROM versions WHERE product_id = ? ORDER BY version DESC LIMIT 1",
                          (product_id,)).fetchone()
        if row is not None and edited_from is not None and edited_from != f"{row['version']}.{row['revision']}":
            raise _stale(con, product_id, edited_from, row)
        before = None if row is None else row["area_ha"]
        if row is not None and row["status"] == "draft":
            number, action, revision = row["version"], "edit-draft", row["revision"] + 1
            assignments = ", ".join(f"{k} = ?" for k in cols)
            con.execute(f"UPDATE versions SET area_json = ?, {assignments}, revision = ?, updated_at = ?, updated_by = ? "
                        "WHERE id = ?", (dumps(area), *cols.values(), revision, stamp, user, row["id"]))
        elif row is not None and row["status"] == "submitted":
            raise WorkflowError("phiên bản đang chờ phê duyệt / the version is awaiting approval", 409, "status")
        else:
            number, action = (row["version"] + 1 if row else 1), "create-draft"
            con.execute(
                f"INSERT INTO versions (product_id, version, status, area_json, created_by, created_at, updated_at, "
                f"updated_by, revision, {', '.join(cols)}) VALUES (?, ?, 'draft', ?, ?, ?, ?, ?, 1, "
                f"{', '.join('?' * len(cols))})",
                (product_id, number, dumps(area), user, stamp, stamp, user, *cols.values()))
        files = {Path(p).name: sha256_file(Path(p)) for p in area["files"] if Path(p).exists()}
        detail = {"area": area, "validation_ok": frozen.ok, "area_ha": frozen.area_ha, "area_ha_before": before,
                  "file_names": names}
        if uploaded:
            detail["uploaded"] = uploaded
        append_audit(con, user, product_id, number, action, detail, {**frozen_hashes(frozen, area), "files": files})
    return get_version(product_id, number)


def submit(product_id: str, number: int, user: str) -> Version:
    require_writable()
    version = get_version(product_id, number)
    require_status(number, version.status, "draft")
    if not version.ok:
        listed = "; ".join(f["message"] for f in version.errors)
        raise WorkflowError("báo cáo kiểm tra còn lỗi; sửa trước khi trình / the validation report has errors; fix them "
                            f"before submitting: {listed}", 409, "report")
    with tx() as con:
        updated = con.execute("UPDATE versions SET status = 'submitted', comment = NULL, submitted_by = ?, updated_at = ?,"
                              " updated_by = ? WHERE product_id = ? AND version = ? AND status = 'draft' AND revision = ?",
                              (user, now(), user, product_id, number, version.revision))
        if updated.rowcount != 1:
            raise WorkflowError("trạng thái đã thay đổi / the state changed meanwhile", 409, "status")
        append_audit(con, user, product_id, number, "submit", {"area_ha": version.area_ha},
                     {"area_sha256": area_hash(version.area), "geometry_sha256": version.geometry_sha256})
    return get_version(product_id, number)


def return_version(product_id: str, number: int, user: str, comment: str) -> Version:
    comment = (comment or "").strip()
    if not comment:
        raise WorkflowError("cần ghi lý do trả lại / a comment is required", 400, "comment")
    if len(comment) > 4000:
        raise WorkflowError("tối đa 4000 ký tự / at most 4000 characters", 400, "comment")
    require_writable()
    version = get_version(product_id, number)
    require_status(number, version.status, "submitted")
    with tx() as con:
        authors = require_second_person(con, product_id, number, user, "return")
        updated = con.execute("UPDATE versions SET status = 'draft', comment = ?, updated_at = ?, updated_by = ?, "
                              "revision = revision + 1 WHERE product_id = ? AND version = ? AND status = 'submitted'",
                              (comment, now(), user, product_id, number))
        if updated.rowcount != 1:
            raise WorkflowError("trạng thái đã thay đổi / the state changed meanwhile", 409, "status")
        append_audit(con, user, product_id, number, "return", {"comment": comment, "authors": sorted(authors)},
                     {"area_sha256": area_hash(version.area), "geometry_sha256": version.geometry_sha256})
    return get_version(product_id, number)


def authors_of(product_id: str, number: int) -> set[str]:
    """Who created, edited or submitted the version (they may not confirm or return it)."""
    from geo_app.production.workflow.states import authors

    with tx() as con:
        return authors(con, product_id, number)
