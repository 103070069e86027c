"""Copernicus GLO-30 for an extent, reading only the needed windows of the public COG tiles.

Each 1°×1° tile is a Cloud-Optimised GeoTIFF named like
``Copernicus_DSM_COG_10_N22_00_E103_00_DEM/Copernicus_DSM_COG_10_N22_00_E103_00_DEM.tif``. Through
GDAL's ``/vsicurl/`` a window read becomes a few HTTP range requests, so a commune-sized extent costs
a few hundred kB instead of the 20–40 MB tiles. The mosaic is reprojected to EPSG:9208 at 30 m and
cached under ``GEO_APP_HOME/cache/dem`` with its sha256, re-verified on every reuse.

The base URL comes from ``GEO_APP_DEM_BASE_URL`` (default: the public AWS open-data bucket) so tests
and offline mirrors can point elsewhere. Data: © DLR e.V. 2010-2014 and © Airbus Defence and Space
GmbH 2014-2018, provided under COPERNICUS by the European Union and ESA; attribution is carried into
the provenance.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window, from_bounds

from geo_app import STORE_CRS
from geo_app.settings import GLO30_BASE_URL, settings
from geo_app.water.terrain.dem import Dem, DemError, sha256_file, target_grid

DEFAULT_BASE_URL = GLO30_BASE_URL
ATTRIBUTION = (
    "Copernicus DEM GLO-30 © DLR e.V. 2010-2014 and © Airbus Defence and Space GmbH 2014-2018, "
    "provided under COPERNICUS by the European Union and ESA"
)

_GDAL_ENV = dict(
    GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR",  # no directory listing: one request less per tile
    CPL_VSIL_CURL_ALLOWED_EXTENSIONS=".tif",
    GDAL_HTTP_MAX_RETRY="3",
    GDAL_HTTP_RETRY_DELAY="1",
    VSI_CACHE="TRUE",
)


def base_url() -> str:
    return settings().dem_base_url


def tile_name(lat: int, lon: int) -> str:
    """GLO-30 tile whose south-west corner is (lat, lon), e.g. ``Copernicus_DSM_COG_10_N22_00_E103_00_DEM``."""
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "W"
    return f"Copernicus_DSM_COG_10_{ns}{abs(lat):02d}_00_{ew}{abs(lon):03d}_00_DEM"


def tile_url(lat: int, lon: int, base: str | None = None) -> str:
    name = tile_name(lat, lon)
    return f"{(base or base_url()).rstrip('/')}/{name}/{name}.tif"


def tiles_for(lonlat_bounds) -> list[tuple[int, int]]:
    west, south, east, north = lonlat_bounds
    lats = range(math.floor(south), math.floor(north - 1e-12) + 1)
    lons = range(math.floor(west), math.floor(east - 1e-12) + 1)
    return [(lat, lon) for lat in lats for lon in lons]


def fetch_glo30(extent, resolution: float = 30.0, base: str | None = None, cache_dir: Path | None = None,
                refresh: bool = False) -> Dem:
    """The GLO-30 DEM for ``extent`` (minx, miny, maxx, maxy in EPSG:9208), on the 30 m store grid.

    Cached by (extent grid, resolution, base URL); a cache file whose sha256 no longer matches is
    fetched again. Tiles that do not exist (sea, or not published) are skipped and noted.
    """
    base = (base or base_url()).rstrip("/")
    transform, rows, cols = target_grid(extent, resolution)
    key = hashlib.sha256(json.dumps([list(transform)[:6], rows, cols, base], sort_keys=True).encode()).hexdigest()[:16]
    cache_dir = Path(cache_dir) if cache_dir else settings().cache_dir / "dem"
    tif = cache_dir / f"glo30_{key}.tif"
    meta_path = tif.with_suffix(".json")
    if not refresh and tif.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if sha256_file(tif) == meta["sha256"]:
            with rasterio.open(tif) as src:
                arr = src.read(1, out_dtype="float32", masked=True).filled(np.nan)
            return Dem(arr, transform, rasterio.crs.CRS.from_user_input(STORE_CRS),
                       sources={tif.name: meta["sha256"], **meta["tiles"]},
                       notes=[f"GLO-30 lấy từ bộ đệm {tif.name} (đã kiểm sha256) / GLO-30 from cache {tif.name} (sha256 verified)",
                              ATTRIBUTION])

    out = np.full((rows, cols), np.nan, dtype=np.float32)
    grid_bounds = (transform.c, transform.f - rows * resolution, transform.c + cols * resolution, transform.f)
    lonlat = transform_bounds(STORE_CRS, "EPSG:4326", *grid_bounds, densify_pts=21)
    tiles, notes, bytes_read = {}, [], 0
    with rasterio.Env(**_GDAL_ENV):
        for lat, lon in tiles_for(lonlat):
            url = tile_url(lat, lon, base)
            try:
                src = rasterio.open(f"/vsicurl/{url}")
            except rasterio.errors.RasterioIOError:
                notes.append(f"ô {tile_name(lat, lon)} không có, bỏ qua / tile {tile_name(lat, lon)} not available, skipped")
                continue
            with src:
                window = _window_for(src, lonlat)
                if window is None:
                    continue
                data = src.read(1, window=window, out_dtype="float32", masked=True).filled(np.nan)
                bytes_read += data.nbytes
                tmp = np.full((rows, cols), np.nan, dtype=np.float32)
                reproject(
                    source=data, destination=tmp,
                    src_transform=src.window_transform(window), src_crs=src.crs, src_nodata=np.nan,
                    dst_transform=transform, dst_crs=STORE_CRS, dst_nodata=np.nan,
                    resampling=Resampling.bilinear,
                )
                take = np.isnan(out) & ~np.isnan(tmp)
                out[take] = tmp[take]
                # The tile's identity is its URL and the bytes read (the remote file is not hashed whole).
                tiles[tile_name(lat, lon)] = hashlib.sha256(data.tobytes()).hexdigest()
                notes.append(f"ô {tile_name(lat, lon)}: đọc cửa sổ {window.width}×{window.height} px / "
                             f"tile {tile_name(lat, lon)}: window {window.width}×{window.height} px read")
    if not tiles:
        raise DemError(
            f"Không đọc được ô GLO-30 nào cho phạm vi {tuple(round(v) for v in extent)} từ {base} / "
            f"no GLO-30 tile could be read for the extent"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    part = tif.with_suffix(".tif.part")
    with rasterio.open(part, "w", driver="GTiff", height=rows, width=cols, count=1, dtype="float32",
                       crs=STORE_CRS, transform=transform, nodata=np.nan, compress="deflate", tiled=True) as dst:
        dst.write(out, 1)
    os.replace(part, tif)
    digest = sha256_file(tif)
    meta_path.write_text(json.dumps({"sha256": digest, "tiles": tiles, "base": base}, indent=1, sort_keys=True),
                         encoding="utf-8")
    return Dem(out, transform, rasterio.crs.CRS.from_user_input(STORE_CRS), sources={tif.name: digest, **tiles},
               notes=notes + [ATTRIBUTION])


def _window_for(src, lonlat) -> Window | None:
    """The source window covering ``lonlat`` plus a 2-pixel margin for bilinear resampling."""
    west, south, east, north = transform_bounds("EPSG:4326", src.crs, *lonlat, densify_pts=0)
    win = from_bounds(west, south, east, north, transform=src.transform)
    col0 = max(0, math.floor(win.col_off) - 2)
    row0 = max(0, math.floor(win.row_off) - 2)
    col1 = min(src.width, math.ceil(win.col_off + win.width) + 2)
    row1 = min(src.height, math.ceil(win.row_off + win.height) + 2)
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)
