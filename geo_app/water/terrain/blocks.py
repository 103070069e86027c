"""Block-by-block processing of rasters: windows, halos and tiled temporary GeoTIFFs.

A local operation (slope, TWI, reclass, weighted overlay, classes) needs at one cell only that cell,
or its 3 × 3 neighbourhood, or a fixed moving window; it can run over blocks of ``block × block``
cells, reading each block (plus a halo of ``halo`` cells where a neighbourhood is needed) from an
in-memory array or from a tiled GeoTIFF, and writing the block to an array or to a tiled GeoTIFF.
The working memory is then a few blocks, whatever the size of the grid. The result of a cell does
not depend on the block it falls in: a halo clipped at the grid edge gives the same neighbourhood as
the whole grid, so blockwise results equal whole-array results.

The temporary GeoTIFFs are tiled (256 × 256), uncompressed and carry no CRS: they are scratch files
inside a temporary folder, never outputs. GDAL's block cache (``GDAL_CACHEMAX``, by default 5 % of
RAM, ~1.2 GB on a 24 GB machine) bounds what rasterio keeps of them in memory; :func:`scratch_env`
caps it at ``SCRATCH_CACHE_MB`` for a run. Blocks are read once (a 512² block is four whole 256²
tiles; only a halo re-reads a tile row, from the OS page cache), and written as whole tiles, so a
larger cache buys nothing here; the cache never changes a value or a byte written.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

#: Cells per side of a processing block: 512² float32 = 1 MB per block and array.
DEFAULT_BLOCK = 512
_TILE = 256
#: GDAL block cache (MB) while a pipeline runs over scratch files (:func:`scratch_env`).
SCRATCH_CACHE_MB = 64


def scratch_env(cache_mb: int = SCRATCH_CACHE_MB):
    """``rasterio.Env`` with GDAL's block cache capped at ``cache_mb`` MB, for the duration of a run
    over scratch GeoTIFFs (the setting is restored on exit; an enclosing Env keeps its other options).
    Measured at 4 000² (``bench/bench_terrain.py --pipeline-only``): the overlay + classes step went
    from +18.0 to +7.0 B/cell and the terrain steps from +11.4 to +8.0, in the same time."""

    return rasterio.Env(GDAL_CACHEMAX=int(cache_mb))


def block_windows(shape, block: int = DEFAULT_BLOCK):
    """``(r0, r1, c0, c1)`` of the blocks covering ``shape``, row by row."""
    if block < 1:
        raise ValueError(f"block must be ≥ 1 (got {block})")
    rows, cols = shape
    for r0 in range(0, rows, block):
        for c0 in range(0, cols, block):
            yield r0, min(r0 + block, rows), c0, min(c0 + block, cols)


def with_halo(win, shape, halo: int):
    """The block ``win`` grown by ``halo`` cells (clipped to the grid) and the slices of ``win`` in it."""
    r0, r1, c0, c1 = win
    R0, R1 = max(0, r0 - halo), min(shape[0], r1 + halo)
    C0, C1 = max(0, c0 - halo), min(shape[1], c1 + halo)
    return (R0, R1, C0, C1), (slice(r0 - R0, r1 - R0), slice(c0 - C0, c1 - C0))


class Source:
    """Read windows from an array or a (single-band) GeoTIFF path, the same way."""

    def __init__(self, src, dtype=None):
        self._ds = None
        self.dtype = dtype
        if isinstance(src, (str, Path)):

            self._ds = rasterio.open(src)
            self.shape = (self._ds.height, self._ds.width)
            self.array = None
        else:
            self.array = np.asarray(src)
            self.shape = self.array.shape

    def read(self, r0, r1, c0, c1) -> np.ndarray:
        if self._ds is not None:

            out = self._ds.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
        else:
            out = self.array[r0:r1, c0:c1]
        if self.dtype is not None and out.dtype != self.dtype:
            out = out.astype(self.dtype)
        return out

    def close(self):
        if self._ds is not None:
            self._ds.close()
            self._ds = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TempRaster:
    """A tiled, uncompressed scratch GeoTIFF written block by block (``write``), then read (``path``)."""

    def __init__(self, path, shape, dtype, nodata=None):

        self.path = Path(path)
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        tiled = shape[0] >= _TILE and shape[1] >= _TILE
        opts = dict(tiled=True, blockxsize=_TILE, blockysize=_TILE) if tiled else {}

        # a dummy north-up transform: scratch files are read back by row/column only
        self._ds = rasterio.open(self.path, "w", driver="GTiff", height=shape[0], width=shape[1], count=1,
                                 dtype=self.dtype.name, nodata=nodata, transform=Affine(1, 0, 0, 0, -1, shape[0]), **opts)

    def write(self, block: np.ndarray, r0: int, c0: int) -> None:

        self._ds.write(np.asarray(block, dtype=self.dtype), 1, window=Window(c0, r0, block.shape[1], block.shape[0]))

    def close(self) -> Path:
        if self._ds is not None:
            self._ds.close()
            self._ds = None
        return self.path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ArraySink:
    """The array counterpart of :class:`TempRaster`: blocks written into an in-memory array."""

    def __init__(self, out: np.ndarray):
        self.array = out
        self.shape = out.shape

    def write(self, block, r0, c0):
        self.array[r0:r0 + block.shape[0], c0:c0 + block.shape[1]] = block

    def close(self):
        return self.array

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def sink_for(out, shape, dtype, nodata=None):
    """A block sink: ``out`` is an array (filled in place), a path (a tiled GeoTIFF) or None (new array)."""
    if out is None:
        return ArraySink(np.empty(shape, dtype=dtype))
    if isinstance(out, np.ndarray):
        if out.shape != tuple(shape):
            raise ValueError(f"output shape {out.shape} ≠ {tuple(shape)}")
        return ArraySink(out)
    return TempRaster(out, shape, dtype, nodata)


def read_all(path) -> np.ndarray:
    """The whole band 1 of a scratch GeoTIFF (for results that are kept in memory)."""

    with rasterio.open(path) as ds:
        return ds.read(1)
