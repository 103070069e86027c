"""Version 1 of every product, seeded as a draft from its definition (``layers/products/<id>.yaml``).

The first time anything reads a product's state, once per product (audit action ``seed``, actor
``system``), so officers start from the public-source default instead of an empty page. The seeded
draft's boundary is frozen like any saved one.
"""
from __future__ import annotations

from geo_app.production.workflow.freezing import (
    base_product,
    default_area,
    freeze_area,
    frozen_columns,
    frozen_hashes,
    products,
    store_fingerprint,
)
from geo_app.production.workflow.repository import append_audit, db_path, dumps, now, tx

SEED_USER = "system"
SEED_ACTION = "seed"
SEED_NOTE = "khởi tạo từ định nghĩa / seeded from the definition"
_SEEDED: set[tuple[str, str]] = set()


def ensure_seeded(product_id: str) -> bool:
    """Seed version 1 of the product as a draft from its definition, once per product.

    Idempotent and safe under concurrent requests: the check and the insert run in one ``BEGIN
    IMMEDIATE`` transaction, so of two callers only the first inserts; a product that already has a
    version, or was seeded before (even if its seed was later replaced), is left alone. The boundary is
    frozen outside the transaction (it can take a second). Returns True when this call seeded it.
    """
    key = (str(db_path()), product_id)
    if key in _SEEDED:
        return False

    def present(con) -> bool:
        return con.execute(
            "SELECT 1 FROM versions WHERE product_id = ? UNION ALL "
            "SELECT 1 FROM audit WHERE product_id = ? AND action = ? LIMIT 1",
            (product_id, product_id, SEED_ACTION)).fetchone() is not None

    with tx() as con:
        if present(con):
            _SEEDED.add(key)
            return False
    base_product(product_id)
    area = default_area(product_id)
    frozen = freeze_area(product_id, area)
    cols = frozen_columns(frozen, store_fingerprint())
    stamp = now()
    with tx() as con:
        if present(con):  # another request seeded it meanwhile
            _SEEDED.add(key)
            return False
        names = ", ".join(cols)
        con.execute(
            f"INSERT INTO versions (product_id, version, status, area_json, created_by, created_at, updated_at, "
            f"updated_by, revision, {names}) VALUES (?, 1, 'draft', ?, ?, ?, ?, ?, 1, {', '.join('?' * len(cols))})",
            (product_id, dumps(area), SEED_USER, stamp, stamp, SEED_USER, *cols.values()))
        append_audit(con, SEED_USER, product_id, 1, SEED_ACTION,
                     {"note": SEED_NOTE, "area": area, "validation_ok": frozen.ok, "area_ha": frozen.area_ha},
                     frozen_hashes(frozen, area))
    _SEEDED.add(key)
    return True


def seed_all() -> list[str]:
    """Seed every product that has no version yet; the ids seeded by this call."""
    return [pid for pid in products() if ensure_seeded(pid)]
