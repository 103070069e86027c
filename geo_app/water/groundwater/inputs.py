"""The user's vector inputs for the groundwater models: files read through ``geo_app.importers``
(same CRS and text-encoding detection as every import), the saved water-source inventory, and
categorical polygons (lithology, karst, aquifer units) rasterised onto the DEM grid.

::

    from geo_app import groundwater as gw
    litho = gw.VectorFactor("thach_hoc.zip", field="rock")          # codes or names of the reclass table
    gw.groundwater_potential("dem.tif", factors={"lithology": litho}, springs="inventory")
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from rasterio.enums import MergeAlg
from rasterio.features import rasterize

from geo_app import STORE_CRS, errors
from geo_app.importers import ImportFailed, read_features
from geo_app.water.terrain import sha256_file

#: Inventory kinds that show where groundwater is (mó/mạch lộ, giếng đào, giếng khoan).
INVENTORY_POINT_KINDS = ("spring", "well", "borehole")
#: The keyword that means "the saved water-source inventory" wherever a points file is expected.
INVENTORY = "inventory"


class InputError(errors.InputError):
    """A vector input that cannot be used; the message names the file or layer and what to do."""


@dataclass(frozen=True)
class VectorFactor:
    """A categorical factor given as polygons: ``source`` (file or GeoDataFrame) and the ``field``
    holding, per polygon, a class code of the reclass table or one of its names/values."""

    source: object
    field: str


def frame_digest(frame) -> str:
    """sha256 of a layer's geometry (WKB) and attributes, for the provenance of in-memory inputs."""

    digest = hashlib.sha256()
    digest.update(b"".join(shapely.to_wkb(np.asarray(frame.geometry.values, dtype=object))))
    cols = sorted(c for c in frame.columns if c != frame.geometry.name)
    digest.update(frame[cols].astype(str).to_csv(index=False).encode("utf-8"))
    return digest.hexdigest()


def read_vector(value, what: str, inputs: dict, kind: str | None = None, error=InputError):
    """A vector input in EPSG:9208. Files go through ``geo_app.importers.read_features`` (any format
    it reads: GeoPackage, zipped Shapefile, KML/KMZ, GeoJSON, GPX, CSV/XLSX with coordinates);
    GeoDataFrames must carry a CRS. The input's sha256 is recorded in ``inputs``."""

    if isinstance(value, (str, os.PathLike)):

        path = Path(value)
        if not path.exists():
            raise error(f"Không tìm thấy tệp {what} / {what} file not found: {path}")
        try:
            frame = read_features(path, kind=kind).frame
        except ImportFailed as exc:
            raise error(f"Lớp {what}: {exc}") from exc
        inputs[f"{what}:{path.name}"] = sha256_file(path)
        return frame.to_crs(STORE_CRS)
    if getattr(value, "crs", None) is None:
        raise error(f"Lớp {what} không có CRS / the {what} layer has no CRS")
    inputs[f"{what}:<in-memory>"] = frame_digest(value)
    return value.to_crs(STORE_CRS)


def inventory_points(kinds=INVENTORY_POINT_KINDS, error=InputError):
    """Springs, wells and boreholes of the saved inventory (``water-sources``), in EPSG:9208."""
    try:
        from geo_app.water import sources as ws
    except ImportError as exc:  # pragma: no cover - the package ships with geo_app
        raise error("Chưa có gói danh mục nguồn nước / the water_sources package is missing") from exc
    try:
        frame = ws.load()
    except Exception as exc:  # StoreError, missing user store
        raise error(
            "Chưa có danh mục nguồn nước đã lưu: chạy `geo-app water-sources import FILE` trước. / "
            f"No saved water-source inventory: run `geo-app water-sources import FILE` first. ({exc})"
        ) from exc
    picked = frame[frame["kind"].isin(kinds)].copy()
    if picked.empty:
        raise error(
            f"Danh mục nguồn nước không có điểm loại {', '.join(kinds)} / the inventory has no {', '.join(kinds)}"
        )
    return picked.to_crs(STORE_CRS)


def resolve_points(value, what: str, inputs: dict, kinds=INVENTORY_POINT_KINDS, error=InputError):
    """A points input: the keyword ``"inventory"`` (the saved water sources of ``kinds``), a file, or a frame."""
    if isinstance(value, str) and value == INVENTORY and not Path(value).exists():
        points = inventory_points(kinds, error=error)
        inputs[f"{what}:inventory ({'/'.join(kinds)}, {len(points)} points)"] = frame_digest(points)
        return points
    return read_vector(value, what, inputs, kind="point", error=error)


def rasterize_factor(name: str, factor: VectorFactor, grid, table, inputs: dict, notes: list | None = None,
                     error=InputError) -> np.ndarray:
    """Burn the polygons' class codes onto ``grid`` (a Dem): float32 codes, NaN where no polygon is.

    Cell centres decide (``all_touched=False``); where polygons overlap the later one wins and a note
    says how much overlaps. Every value of the field must be a code of ``table`` or one of its labels.
    """

    frame = read_vector(factor.source, name, inputs, kind="polygon", error=error)
    if factor.field not in frame.columns:
        fields = ", ".join(c for c in frame.columns if c not in (frame.geometry.name, "source_file", "source_row"))
        raise error(f"Lớp '{name}' không có trường '{factor.field}' (có: {fields}) / "
                    f"the '{name}' layer has no field '{factor.field}' (it has: {fields})")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    codes, unknown = [], {}
    for row, value in zip(frame.get("source_row", range(1, len(frame) + 1)), frame[factor.field]):
        code = table.code_for(value) if table is not None else _int_or_none(value)
        codes.append(code)
        if code is None and not _blank(value):
            unknown.setdefault(str(value), []).append(row)
    if unknown:
        shown = "; ".join(f"'{v}' (dòng/row {', '.join(str(r) for r in rows[:5])})" for v, rows in sorted(unknown.items()))
        raise error(
            f"Yếu tố '{name}', trường '{factor.field}': giá trị {shown} không có trong bảng phân loại — thêm mã hoặc "
            f"'values' vào bảng / values of field '{factor.field}' have no class in the reclass table for '{name}'"
        )
    shapes = [(geom, code) for geom, code in zip(frame.geometry, codes) if code is not None]
    if not shapes:
        raise error(f"Lớp '{name}' không có vùng nào có mã / no polygon of the '{name}' layer has a class")
    nodata = -(2 ** 31)
    burned = rasterize(shapes, out_shape=grid.shape, transform=grid.transform, fill=nodata, all_touched=False,
                       dtype="int32")
    if notes is not None:
        covered = burned != nodata
        count = rasterize(((g, 1) for g, _ in shapes), out_shape=grid.shape, transform=grid.transform, fill=0,
                          all_touched=False, dtype="uint8", merge_alg=_add())
        overlap = int((count > 1).sum())
        notes.append(f"{name}: {len(shapes)} vùng (trường '{factor.field}') raster hóa trên lưới DEM theo tâm ô, phủ "
                     f"{100 * covered.mean():.1f} % lưới"
                     + (f"; {overlap} ô nằm dưới các vùng chồng nhau lấy lớp của vùng sau" if overlap else "")
                     + f" / {name}: {len(shapes)} polygons (field '{factor.field}') rasterised on the DEM grid at cell "
                     f"centres, covering {100 * covered.mean():.1f} % of the grid"
                     + (f"; {overlap} cells under overlapping polygons take the later polygon's class" if overlap else ""))
    return np.where(burned == nodata, np.nan, burned.astype(np.float32)).astype(np.float32)


def _blank(value) -> bool:
    """A polygon with no value in the field stays without a class (nodata), it is not an error."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return True
    return not str(value).strip()


def _add():

    return MergeAlg.add


def _int_or_none(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if np.isfinite(number) and number.is_integer() else None
