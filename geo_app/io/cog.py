"""One Cloud-Optimised GeoTIFF writer for every raster output (groundwater potential and level)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.shutil import copy as rio_copy
from rasterio.windows import Window

from geo_app import STORE_CRS

#: Cells per side of the blocks copied into the staging GeoTIFF (512² float32 = 1 MB).
BLOCK = 512


def write_cog(path, array, transform, dtype, nodata, tags: dict, block: int = BLOCK, crs: str = STORE_CRS) -> None:
    """A COG (DEFLATE, 256² tiles, overviews) from an array or a GeoTIFF path, through a tiled staging
    GeoTIFF on disk written block by block: no in-memory copy of the raster (GDAL's block cache bounds
    what is held). No timestamp is written, so identical inputs give identical bytes."""
    path = Path(path)
    staging = path.with_name(path.stem + ".staging.tif")
    src = rasterio.open(array) if isinstance(array, (str, Path)) else None
    try:
        shape = (src.height, src.width) if src is not None else np.shape(array)
        profile = dict(driver="GTiff", height=shape[0], width=shape[1], count=1, dtype=dtype, crs=crs,
                       transform=transform, nodata=nodata, tiled=True, blockxsize=256, blockysize=256)
        with rasterio.open(staging, "w", **profile) as ds:
            for r0 in range(0, shape[0], block):
                for c0 in range(0, shape[1], block):
                    win = Window(c0, r0, min(block, shape[1] - c0), min(block, shape[0] - r0))
                    part = src.read(1, window=win) if src is not None else array[r0:r0 + win.height, c0:c0 + win.width]
                    ds.write(np.asarray(part, dtype=dtype), 1, window=win)
            ds.update_tags(**tags)
        with rasterio.open(staging) as ds:
            rio_copy(ds, path, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=256, OVERVIEWS="AUTO",
                     RESAMPLING="NEAREST" if np.dtype(dtype) == np.uint8 else "AVERAGE", NUM_THREADS=1)
    finally:
        if src is not None:
            src.close()
        staging.unlink(missing_ok=True)
