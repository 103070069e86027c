"""Reading a DEM onto the working grid: EPSG:9208, square cells (30 m by default), NaN for nodata."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio._err import CPLE_BaseError
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.fill import fillnodata
from rasterio.warp import reproject, transform_bounds
from scipy import ndimage

from geo_app import STORE_CRS
from geo_app.errors import InputError
from geo_app.io.files import sha256_file


class DemError(InputError):
    """A DEM that cannot be used; the message says what and where (Vietnamese / English)."""


@dataclass
class Dem:
    """Elevation (float32 metres, NaN = nodata) on a north-up grid in a projected CRS."""

    array: np.ndarray
    transform: Affine
    crs: CRS
    sources: dict = field(default_factory=dict)  # name → sha256 of the input file(s)
    notes: list = field(default_factory=list)  # what was done to the data, for the provenance

    @property
    def shape(self) -> tuple[int, int]:
        return self.array.shape

    @property
    def cellsize(self) -> tuple[float, float]:
        return abs(self.transform.a), abs(self.transform.e)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        rows, cols = self.array.shape
        left, top = self.transform.c, self.transform.f
        return left, top + rows * self.transform.e, left + cols * self.transform.a, top

    @property
    def valid(self) -> np.ndarray:
        return ~np.isnan(self.array)


def target_grid(extent, resolution: float = 30.0) -> tuple[Affine, int, int]:
    """A grid in the store CRS snapped to multiples of ``resolution`` that covers ``extent``."""
    minx, miny, maxx, maxy = extent
    if not (maxx > minx and maxy > miny):
        raise DemError(f"Phạm vi không hợp lệ / invalid extent {extent!r} (need minx<maxx, miny<maxy)")
    # The tolerance absorbs reprojection round-off (404500.0000001 must not add a column of nodata).
    eps = 1e-6
    left = math.floor(minx / resolution + eps) * resolution
    top = math.ceil(maxy / resolution - eps) * resolution
    cols = max(1, int(math.ceil((maxx - left) / resolution - eps)))
    rows = max(1, int(math.ceil((top - miny) / resolution - eps)))
    return Affine(resolution, 0, left, 0, -resolution, top), rows, cols


def read_dem(path: str | Path, extent=None, resolution: float = 30.0, dst_crs: str = STORE_CRS) -> Dem:
    """Read a user GeoTIFF, reproject it to ``dst_crs`` at ``resolution`` m, cut to ``extent``.

    ``extent`` is (minx, miny, maxx, maxy) in ``dst_crs``; default: the DEM's own footprint.
    Refuses a DEM without a CRS, with a CRS whose coordinates cannot be right (e.g. metres labelled
    as degrees), or an extent that does not overlap it.
    """
    path = Path(path)
    if not path.exists():
        raise DemError(f"Không tìm thấy tệp DEM / DEM file not found: {path}")
    if path.is_dir():
        raise DemError(f"DEM {path} là thư mục, không phải tệp raster / the DEM is a folder, not a raster file")
    try:
        with rasterio.open(path) as src:
            out, transform, extent, src_bounds_dst, src_crs = _read_onto_grid(src, path, extent, resolution, dst_crs)
    except (RasterioError, CPLE_BaseError) as exc:
        # Not a raster at all (a KML, a shapefile, a text file), or a GeoTIFF that is truncated or corrupt.
        raise DemError(_unreadable(path, exc)) from exc
    dem = Dem(out, transform, CRS.from_user_input(dst_crs), sources={path.name: sha256_file(path)})
    dem.notes.append(f"đọc {path.name} ({src_crs}) → {dst_crs}, ô {resolution:g} m, nội suy song tuyến / "
                     f"read {path.name} ({src_crs}) → {dst_crs} at {resolution:g} m, bilinear")
    if not dem.valid.any():
        raise DemError(f"DEM {path.name} không có dữ liệu trong phạm vi {_fmt(extent)} / the DEM has no data in the extent")
    if not _overlaps(extent, src_bounds_dst, full=True):
        dem.notes.append("phạm vi vượt ra ngoài DEM; các ô ngoài DEM không có dữ liệu / "
                         "the extent reaches beyond the DEM; cells outside it are nodata")
    return dem


def _read_onto_grid(src, path: Path, extent, resolution: float, dst_crs: str):
    _check_crs(src, path)
    src_bounds_dst = transform_bounds(src.crs, dst_crs, *src.bounds, densify_pts=21)
    if extent is None:
        extent = src_bounds_dst
    else:
        extent = tuple(float(v) for v in extent)
        if not _overlaps(extent, src_bounds_dst):
            raise DemError(
                f"Phạm vi {_fmt(extent)} nằm ngoài DEM {path.name} (phủ {_fmt(src_bounds_dst)}, {dst_crs}) / "
                f"the extent is outside the DEM"
            )
    transform, rows, cols = target_grid(extent, resolution)
    out = np.full((rows, cols), np.nan, dtype=np.float32)
    # Warping from the band lets GDAL read only the source blocks the target grid needs.
    reproject(
        source=rasterio.band(src, 1),
        destination=out,
        src_nodata=src.nodata,
        dst_transform=transform,
        dst_crs=dst_crs,
        dst_nodata=np.nan,
        resampling=Resampling.bilinear,
    )
    src_crs = src.crs.to_string()
    return out, transform, extent, src_bounds_dst, src_crs


def _unreadable(path: Path, exc) -> str:
    detail = " ".join(str(exc).split())
    if len(detail) > 200:
        detail = detail[:200] + "…"
    suffix = path.suffix.lower()
    vector = suffix in (".kml", ".kmz", ".shp", ".zip", ".gpkg", ".geojson", ".json", ".gpx", ".csv", ".xlsx", ".dxf")
    what_vi = ("đây là tệp vector (ranh giới, điểm…), không phải mô hình số độ cao" if vector
               else "tệp không phải ảnh raster hoặc bị hỏng/cắt cụt")
    what_en = ("it is a vector file (outlines, points…), not an elevation model" if vector
               else "it is not a raster, or it is corrupt or truncated")
    return (
        f"Không đọc được DEM {path.name}: {what_vi}. Hãy cho một GeoTIFF độ cao có hệ tọa độ (vd. Copernicus GLO-30, "
        f"SRTM, hoặc xuất từ QGIS), hoặc tải GLO-30 bằng geo_app.water.terrain.fetch_glo30. / "
        f"Cannot read the DEM {path.name}: {what_en}. Give an elevation GeoTIFF with a CRS (e.g. Copernicus GLO-30, "
        f"SRTM, or an export from QGIS), or fetch GLO-30 with geo_app.water.terrain.fetch_glo30. (GDAL: {detail})"
    )


def fill_holes(dem: Dem, max_fraction: float = 0.05, max_search_m: float = 1000.0) -> Dem:
    """Fill interior nodata holes by inverse-distance interpolation from their rim (GDAL fillnodata).

    Holes larger than ``max_search_m`` across stay NaN; if more than ``max_fraction`` of the grid is
    nodata the DEM is refused, naming how much and where, since any terrain factor would be made up.
    """

    # Nodata joined to the grid border is area the DEM does not cover, not a hole: it stays nodata.
    labels, _ = ndimage.label(~dem.valid)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    holes = (labels > 0) & ~np.isin(labels, edge[edge > 0])
    del labels
    n = int(holes.sum())
    if n == 0:
        return dem
    frac = n / holes.size
    rows, cols = np.nonzero(holes)
    t = dem.transform
    where = _fmt((t.c + cols.min() * t.a, t.f + (rows.max() + 1) * t.e, t.c + (cols.max() + 1) * t.a, t.f + rows.min() * t.e))
    if frac > max_fraction:
        raise DemError(
            f"DEM có {n} ô không có dữ liệu ({frac:.1%} > {max_fraction:.0%}) trong vùng {where} / "
            f"the DEM has {n} nodata cells ({frac:.1%}) in {where}; supply a complete DEM or a smaller extent"
        )
    arr = dem.array.copy()
    filled = fillnodata(arr, mask=dem.valid.astype(np.uint8), max_search_distance=max_search_m / dem.cellsize[0],
                        smoothing_iterations=0)
    filled = filled.astype(np.float32)
    filled[~dem.valid & ~holes] = np.nan  # outside the DEM's cover: stays nodata
    left = int(np.isnan(filled[holes]).sum())
    out = Dem(filled, dem.transform, dem.crs, dict(dem.sources), list(dem.notes))
    out.notes.append(f"đã nội suy lấp {n - left} ô không có dữ liệu trong vùng {where}; còn {left} ô không có dữ liệu / "
                     f"filled {n - left} nodata cells by interpolation in {where}; {left} left as nodata")
    return out


def _check_crs(src, path: Path) -> None:
    if src.crs is None:
        raise DemError(
            f"DEM {path.name} không có hệ tọa độ (CRS) / the DEM has no CRS: add one (e.g. EPSG:4326 for "
            f"GLO-30/SRTM or EPSG:9208 for VN-2000 TM-3 104°45') with gdal_edit.py -a_srs"
        )
    b = src.bounds
    if src.crs.is_geographic and (abs(b.left) > 180 or abs(b.right) > 180 or abs(b.top) > 90 or abs(b.bottom) > 90):
        raise DemError(
            f"DEM {path.name} khai báo hệ tọa độ địa lý {src.crs.to_string()} nhưng tọa độ {_fmt(b)} là mét / "
            f"the DEM claims a geographic CRS but its coordinates look projected: the CRS is wrong"
        )
    # A projected DEM far outside Vietnam's envelope has the wrong CRS (e.g. VN-2000 metres labelled UTM 32648
    # are fine, but metres labelled as another zone land elsewhere).
    lon_lat = transform_bounds(src.crs, "EPSG:4326", *b, densify_pts=5)
    if not _overlaps(lon_lat, (100.0, 7.0, 112.0, 24.5)):
        raise DemError(
            f"DEM {path.name} với CRS {src.crs.to_string()} nằm ở {_fmt(lon_lat, 4)} (lon/lat), ngoài Việt Nam / "
            f"with its declared CRS the DEM lies outside Vietnam: the CRS is probably wrong"
        )


def _overlaps(a, b, full: bool = False) -> bool:
    if full:
        return a[0] >= b[0] and a[1] >= b[1] and a[2] <= b[2] and a[3] <= b[3]
    return a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1]


def _fmt(bounds, nd: int = 0) -> str:
    return "(" + ", ".join(f"{v:.{nd}f}" for v in bounds) + ")"
