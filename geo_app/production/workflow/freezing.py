"""Freezing a version's boundary when it is saved, and re-freezing drafts after the store is rebuilt.

The resolution (``geo_app.production.boundary.freeze``) runs when a draft is saved or seeded, never while
a page, the map or the API is answered. A rebuilt layer store (new fingerprint) may move commune
boundaries: drafts are then re-resolved once (audit action ``re-resolve`` with the area before and after)
and confirmed versions are left exactly as they were confirmed.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

import shapely

from geo_app.production.area import AdminLayers
from geo_app.production.boundary import FrozenBoundary, freeze, points_records
from geo_app.production.workflow.repository import (
    WorkflowError,
    append_audit,
    area_hash,
    dumps,
    now,
    tx,
    version_from_row,
)
from geo_app.settings import settings

log = logging.getLogger(__name__)


_PRODUCTS: dict[tuple, dict] = {}


def products() -> dict:
    """The product definitions, read again only when a definition file changes (pages ask often)."""
    from geo_app.production.products import load_products, products_dir

    folder = products_dir()
    key = (str(folder), tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml"))))
    if key not in _PRODUCTS:
        _PRODUCTS.clear()
        _PRODUCTS[key] = load_products()
    return _PRODUCTS[key]


def base_product(product_id: str):
    found = products()
    if product_id not in found:
        raise WorkflowError(f"Không có sản phẩm '{product_id}' / no product '{product_id}'", 404, "product")
    return found[product_id]


def default_area(product_id: str) -> dict:
    area = base_product(product_id).area
    return {"communes_2025": list(area.communes_2025), "former_communes": list(area.former_communes),
            "former_districts": list(area.former_districts), "files": [str(p) for p in area.files]}


def product_for(area: dict, product_id: str, status: str = "draft"):
    """The catalogue product with this area definition (what the resolution reads)."""
    from geo_app.production.products import AreaDefinition

    base = base_product(product_id)
    definition = AreaDefinition(
        communes_2025=tuple(area.get("communes_2025", ())), former_communes=tuple(area.get("former_communes", ())),
        former_districts=tuple(area.get("former_districts", ())), files=tuple(Path(p) for p in area.get("files", ())),
        former_commune_boundaries=base.area.former_commune_boundaries, note=base.area.note,
    )
    return dataclasses.replace(base, area=definition, status=status, path=None)


def store_fingerprint() -> str | None:
    from geo_app.store.layer_store import read_meta

    fingerprint = read_meta(settings().store_path).get("fingerprint")
    return None if fingerprint is None else str(fingerprint)


def other_areas(product_id: str) -> dict:
    """{product id: (name, geometry)} of the other products' latest stored boundaries (for overlaps)."""
    names = {pid: p.name for pid, p in products().items()}
    with tx() as con:
        rows = con.execute(
            "SELECT product_id, geometry_wkb FROM versions v WHERE product_id != ? AND geometry_wkb IS NOT NULL "
            "AND version = (SELECT MAX(version) FROM versions w WHERE w.product_id = v.product_id)",
            (product_id,)).fetchall()
    return {r["product_id"]: (names.get(r["product_id"], {"vi": r["product_id"], "en": r["product_id"]}),
                              shapely.from_wkb(r["geometry_wkb"])) for r in rows if r["product_id"] in names}


_ADMIN: dict[tuple, AdminLayers] = {}
_ADMIN_LOCK = threading.Lock()


def admin_layers() -> AdminLayers:
    """The administrative layers of the current store, read once per store file (a rebuild replaces the
    file, so its identity changes). Only read, never changed, so threads share them."""
    store = settings().store_path
    st = store.stat()
    key = (str(store), st.st_ino, st.st_mtime_ns)
    with _ADMIN_LOCK:
        if key not in _ADMIN:
            _ADMIN.clear()
            _ADMIN[key] = AdminLayers.from_store()
        return _ADMIN[key]


def freeze_area(product_id: str, area: dict) -> FrozenBoundary:
    return freeze(product_for(area, product_id), admin_layers(), others=other_areas(product_id))


def frozen_columns(frozen: FrozenBoundary, fingerprint: str | None) -> dict:
    """The version columns that hold a frozen boundary."""
    return {"geometry_wkb": frozen.wkb, "geometry_sha256": frozen.sha256, "area_ha": frozen.area_ha,
            "perimeter_m": frozen.perimeter_m, "points_json": dumps(points_records(frozen.points)),
            "resolution_json": dumps(frozen.resolution), "report_json": dumps(frozen.check),
            "store_fingerprint": fingerprint}


def frozen_hashes(frozen: FrozenBoundary, area: dict) -> dict:
    return {"area_sha256": area_hash(area), "geometry_sha256": frozen.sha256}


def refreeze_drafts() -> list[tuple[str, int]]:
    """Re-resolve every draft frozen on another store than the current one; (product, version) changed.

    Submitted versions are re-resolved too (they are not confirmed yet and the approver must see the
    boundary the store gives now); confirmed versions never change."""
    fingerprint = store_fingerprint()
    if fingerprint is None:
        return []
    with tx() as con:
        stale = [version_from_row(r) for r in con.execute(
            "SELECT * FROM versions WHERE status != 'confirmed' AND (store_fingerprint IS NOT ? OR geometry_sha256 IS NULL"
            " AND report_json IS NULL)", (fingerprint,)).fetchall()]
    changed = []
    for version in stale:
        frozen = freeze_area(version.product_id, version.area)
        cols = frozen_columns(frozen, fingerprint)
        with tx() as con:
            row = con.execute("SELECT revision, status FROM versions WHERE product_id = ? AND version = ?",
                              (version.product_id, version.version)).fetchone()
            if row is None or row["status"] == "confirmed" or row["revision"] != version.revision:
                continue  # saved or confirmed meanwhile: that save froze it already
            assignments = ", ".join(f"{k} = ?" for k in cols)
            con.execute(f"UPDATE versions SET {assignments}, revision = revision + 1, updated_at = ?, updated_by = ? "
                        "WHERE product_id = ? AND version = ?",
                        (*cols.values(), now(), "system", version.product_id, version.version))
            before = {"area_ha": version.area_ha, "geometry_sha256": version.geometry_sha256,
                      "store_fingerprint": version.store_fingerprint}
            after = {"area_ha": frozen.area_ha, "geometry_sha256": frozen.sha256, "store_fingerprint": fingerprint}
            append_audit(con, "system", version.product_id, version.version, "re-resolve",
                         {"before": before, "after": after, "validation_ok": frozen.ok,
                          "area_ha_before": version.area_ha, "area_ha": frozen.area_ha},
                         frozen_hashes(frozen, version.area))
        changed.append((version.product_id, version.version))
        log.info("re-resolved %s v%s after a store rebuild: %s ha → %s ha", version.product_id, version.version,
                 version.area_ha, frozen.area_ha)
    return changed
