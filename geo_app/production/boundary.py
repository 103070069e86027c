"""The frozen boundary of a production-area version: resolved once, then only read.

What the province confirms must be one well-defined boundary. :func:`freeze` resolves a product's area
definition (``geo_app.production.area.resolve``) and checks it (``geo_app.production.validation.check``)
once; the result — geometry in EPSG:9208 and its sha256, area, perimeter, the boundary-point table, the
resolution report and the check report — is stored with the version and every consumer (pages, map,
dossier on any paper, exports, the OGC API) reads those stored values.

The boundary-point table is derived from the geometry alone, with a tolerance chosen from the area's size
(``geo_app.production.dossier.points.tolerance_for_area``), never from a paper size or a map scale: the A3 and the A4 dossier of one
version list the same points.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pandas as pd
import shapely

from geo_app import STORE_CRS
from geo_app.io.jsontext import clean
from geo_app.production.area import AdminLayers, ResolvedArea, resolve
from geo_app.production.dossier.points import freeze_boundary
from geo_app.production.validation import OVERLAP_TOLERANCE_HA, Finding, check

POINT_COLUMNS = ["no", "ring", "x_north", "y_east"]


@dataclass(frozen=True)
class FrozenBoundary:
    """One version's boundary as stored. ``geometry`` is a shapely geometry in EPSG:9208 (None when the
    definition cannot be resolved to any geometry); ``sha256`` is that of its WKB (little-endian, 2D)."""

    geometry: object
    sha256: str | None
    area_ha: float
    perimeter_m: float
    points: pd.DataFrame = field(compare=False)
    resolution: dict = field(compare=False)
    check: dict = field(compare=False)

    @property
    def wkb(self) -> bytes | None:
        return geometry_wkb(self.geometry)

    @property
    def ok(self) -> bool:
        return bool(self.check.get("ok"))

    @property
    def complete(self) -> bool:
        return bool(self.resolution.get("complete"))

    @property
    def tolerance_m(self) -> float | None:
        """The boundary-point reduction tolerance (m), chosen from the area's size."""
        return self.resolution.get("points", {}).get("tolerance_m")

    @property
    def notes(self) -> tuple[str, ...]:
        """What freezing changed in the resolved geometry (slivers dropped), for the sheet."""
        return tuple(self.resolution.get("points", {}).get("notes", ()))


def geometry_wkb(geometry) -> bytes | None:
    if geometry is None or geometry.is_empty:
        return None
    return shapely.to_wkb(geometry, hex=False, output_dimension=2, byte_order=1, include_srid=False)


def wkb_sha256(wkb: bytes | None) -> str | None:
    return None if wkb is None else hashlib.sha256(wkb).hexdigest()


def derive_points(geometry) -> tuple[object, pd.DataFrame, dict]:
    """(geometry as frozen, boundary-point table, how the table was made) for a resolved geometry, by the
    dossier's own rule (``freeze_boundary``: digitising slivers dropped and said in ``notes``, the point
    tolerance from the area's size, never from a paper), so the dossier and the stored version agree."""
    if geometry is None or geometry.is_empty:
        return None, pd.DataFrame(columns=POINT_COLUMNS), {"tolerance_m": None, "source_vertices": 0, "holes": 0,
                                                           "count": 0, "notes": []}
    made = freeze_boundary(geometry)
    table = pd.DataFrame(made.points)[POINT_COLUMNS].reset_index(drop=True)
    return made.geometry, table, {"tolerance_m": made.tolerance_m, "rule": "dossier.points.tolerance_for_area",
                                  "source_vertices": int(made.points.attrs.get("source_vertices", 0)),
                                  "holes": int(made.points.attrs.get("holes", 0)), "count": int(len(table)),
                                  "notes": list(made.notes)}


def _resolution(resolved: ResolvedArea | None, error: str | None) -> dict:
    if resolved is None:
        return {"complete": False, "pieces": [], "former_communes": [], "messages": [error] if error else [],
                "unresolved": [error] if error else [], "legal_basis": [], "crs": STORE_CRS}
    pieces = [{"commune_code": p.commune_code, "commune_2025": p.commune_name, "former_codes": list(p.former_codes),
               "method": p.method, "inclusion": None if p.commune_code is None else p.method,
               "area_ha": round(p.area_ha, 4), "unresolved": p.unresolved, "legal_basis": list(p.legal_basis)}
              for p in resolved.pieces]
    return clean({"complete": resolved.is_complete, "pieces": pieces,
                  "former_communes": resolved.former_rows.to_dict("records"), "messages": list(resolved.messages),
                  "unresolved": [p.unresolved for p in resolved.unresolved], "repairs": list(resolved.repairs),
                  "legal_basis": resolved.legal_basis, "crs": STORE_CRS})


def _error_check(product_id: str, message: str) -> dict:
    return {"product_id": product_id, "ok": False, "area_ha": 0.0, "perimeter_m": 0.0, "valid": False,
            "findings": [{"level": "error", "code": "resolve", "message": message}],
            "communes": [], "former_communes": [], "overlaps": []}


def freeze(product, admin: AdminLayers | None = None, *, others: dict | None = None) -> FrozenBoundary:
    """Resolve and check ``product``'s area once; the frozen boundary to store with its version.

    ``others``: {product id: (name dict, geometry in EPSG:9208)} of the other products' areas to report
    overlaps with (their stored frozen boundaries; nothing is resolved for them). A definition that cannot
    be resolved is a finding of the check, not an exception.
    """
    admin = admin or AdminLayers.from_store()
    try:
        resolved = resolve(product, admin)
    except Exception as exc:  # a resolution problem is a finding, not a crash  # noqa: BLE001
        message = getattr(exc, "message", None) or str(exc)
        _, points, meta = derive_points(None)
        resolution = _resolution(None, message)
        resolution["points"] = meta
        return FrozenBoundary(None, None, 0.0, 0.0, points, resolution, _error_check(product.id, message))
    report = check(product, admin, others={}, resolved=resolved)
    geometry = resolved.geometry if resolved.geometry is not None and not resolved.geometry.is_empty else None
    geometry, points, meta = derive_points(geometry)
    if geometry is not None:
        for other_id, (name, other_geom) in sorted((others or {}).items()):
            if other_id == product.id or other_geom is None or not other_geom.intersects(geometry):
                continue
            overlap_ha = shapely.intersection(geometry, other_geom).area / 1e4
            if overlap_ha > OVERLAP_TOLERANCE_HA:
                report.overlaps.append({"product_id": other_id, "name": name.get("vi"), "area_ha": round(overlap_ha, 2)})
                report.findings.append(Finding("warning", "overlap",
                                               f"Chồng lấn {overlap_ha:.2f} ha với {name.get('vi')} / overlaps "
                                               f"{name.get('en')} by {overlap_ha:.2f} ha"))
    resolution = _resolution(resolved, None)
    resolution["points"] = meta
    wkb = geometry_wkb(geometry)
    area_ha = 0.0 if geometry is None else round(geometry.area / 1e4, 4)
    perimeter_m = 0.0 if geometry is None else round(geometry.length, 2)
    return FrozenBoundary(geometry, wkb_sha256(wkb), area_ha, perimeter_m, points, resolution, report.to_dict())


def points_records(points: pd.DataFrame) -> list[list]:
    """The point table as compact JSON rows [no, ring, x_north, y_east]."""
    return [[int(r.no), int(r.ring), float(r.x_north), float(r.y_east)] for r in points.itertuples(index=False)]


def points_frame(records: list[list]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=POINT_COLUMNS)
    return frame.astype({"no": "int64", "ring": "int64", "x_north": "float64", "y_east": "float64"})


def from_stored(wkb: bytes | None, sha256: str | None, area_ha: float, perimeter_m: float, points: list[list],
                resolution: dict, report: dict) -> FrozenBoundary:
    """The FrozenBoundary of a stored version (no resolution)."""
    geometry = shapely.from_wkb(wkb) if wkb else None
    return FrozenBoundary(geometry, sha256, area_ha or 0.0, perimeter_m or 0.0, points_frame(points), resolution or {},
                          report or {})
