"""Terrain algorithms on a regular grid in a projected CRS (metres).

One function per operation; ``block=`` (or a GeoTIFF path as input or output) runs a local operation
block by block, ``tile=`` runs fill or accumulation tile by tile on GeoTIFFs larger than memory
(``geo_app.water.terrain.tiled``). The values never depend on the blocks or tiles. docs/terrain.md
describes the algorithms, the memory model and the benchmark.

Memory model: rasters are held as float32 (elevation, slope, TWI), uint32 (flow accumulation in
cells) or uint8 (D8 codes, flags); no full-raster float64 array is ever made.

- Local operations (:func:`slope`, :func:`twi`, :func:`line_density`, :func:`drainage_density`,
  and :func:`flow_direction_d8`) with ``block``: 512² windows by default, a 1-cell halo for 3 × 3
  neighbourhoods, a halo of the window's half-size for the densities, from arrays or tiled scratch
  GeoTIFFs into arrays or tiled scratch GeoTIFFs (``geo_app.water.terrain.blocks``). Working memory:
  a few blocks (~1 MB each), whatever the grid; the values equal the whole-array run (the densities
  up to float32 rounding of moving sums).
- The global algorithms on a whole array, each ≤ 4 bytes per cell per array:
  ``fill_depressions``: in place on the float32 DEM with ``inplace=True`` (else a float32 copy) +
  a uint8 "closed" flag + the priority-flood front (heap, FIFO and a bounded slope-trace queue):
  1 byte per cell + the front beyond the DEM.
  ``flow_direction_d8``: uint8 output, no temporaries: 1 byte per cell.
  ``flow_accumulation``: uint32 output + uint8 in-degree: 5 bytes per cell.
- ``TerrainAnalysis.run_to_files`` (what ``geo-app groundwater`` runs) chains them: slope to a
  scratch GeoTIFF, fill in place on the DEM (``consume_dem``; else a 4 B copy, freed after D8),
  D8 (1 B), accumulation (4 B + 1 B in-degree), TWI and drainage density block by block to scratch
  GeoTIFFs, then D8 and accumulation freed. Peak: DEM 4 + valid mask 1 + D8 1 + accumulation 4 +
  in-degree 1 = 11 bytes per cell (the fill, 4 + 1 + 1 + front, is below it). Measured with
  ``bench/bench_terrain.py --pipeline-only`` (peak RSS of each step above the RSS with the libraries
  and the DEM loaded; GDAL's block cache capped at 64 MB by ``blocks.scratch_env``): at 4 000² the
  terrain steps +8.0 B/cell, the overlay + classes +7.0; at 20 000² that is ≈ 6.3 GB before the
  outputs, which is why the tiled fill and accumulation exist.

Kernels are compiled with numba (BSD) because priority-flood and the downstream walk are inherently
sequential; vectorised numpy would need many full-size temporaries. D8 is a parallel loop over rows.
"""
from __future__ import annotations

import math
from pathlib import Path

import numba
import numpy as np
from scipy.ndimage import uniform_filter

from geo_app.water.terrain.blocks import DEFAULT_BLOCK, Source, block_windows, sink_for, with_halo

#: D8 codes as in ESRI / TauDEM-ESRI convention: E, SE, S, SW, W, NW, N, NE; 0 = no outflow.
D8_CODES = np.array([1, 2, 4, 8, 16, 32, 64, 128], dtype=np.uint8)
_DR = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)
_DC = np.array([1, 1, 0, -1, -1, -1, 0, 1], dtype=np.int64)

_JIT = dict(nopython=True, cache=True, nogil=True)


def _as_float32(dem: np.ndarray) -> np.ndarray:
    dem = np.asarray(dem)
    if dem.ndim != 2:
        raise ValueError(f"DEM phải là mảng 2 chiều / the DEM must be a 2-D array (got {dem.ndim}-D)")
    return np.ascontiguousarray(dem, dtype=np.float32)


def _cell_size(cellsize) -> tuple[float, float]:
    if np.isscalar(cellsize):
        dx = dy = float(cellsize)
    else:
        dx, dy = (abs(float(v)) for v in cellsize)
    if not (dx > 0 and dy > 0 and math.isfinite(dx) and math.isfinite(dy)):
        raise ValueError(f"Kích thước ô không hợp lệ / invalid cell size {cellsize!r}")
    return dx, dy


# ---------------------------------------------------------------------------------------------- slope

@numba.jit(**_JIT)
def _slope_kernel(z, dx, dy, out):
    rows, cols = z.shape
    w = np.empty((3, 3), dtype=np.float64)  # allocated once: per-cell allocation tripled the run time
    for r in range(rows):
        for c in range(cols):
            zc = z[r, c]
            if np.isnan(zc):
                out[r, c] = np.nan
                continue
            if 0 < r < rows - 1 and 0 < c < cols - 1:
                # Interior fast path; any NaN neighbour makes the result NaN and falls through.
                gx = ((z[r - 1, c + 1] + 2 * z[r, c + 1] + z[r + 1, c + 1])
                      - (z[r - 1, c - 1] + 2 * z[r, c - 1] + z[r + 1, c - 1])) / (8.0 * dx)
                gy = ((z[r + 1, c - 1] + 2 * z[r + 1, c] + z[r + 1, c + 1])
                      - (z[r - 1, c - 1] + 2 * z[r - 1, c] + z[r - 1, c + 1])) / (8.0 * dy)
                if not np.isnan(gx) and not np.isnan(gy):
                    out[r, c] = math.degrees(math.atan(math.sqrt(gx * gx + gy * gy)))
                    continue
            # 3x3 window; a missing neighbour (edge or nodata) is extrapolated linearly (see below).
            for i in range(3):
                for j in range(3):
                    rr = r + i - 1
                    cc = c + j - 1
                    if 0 <= rr < rows and 0 <= cc < cols and not np.isnan(z[rr, cc]):
                        w[i, j] = z[rr, cc]
                    else:
                        w[i, j] = np.nan
            # Missing neighbours are extrapolated linearly (through the centre, or along their row
            # or column), repeated so corners can use filled cells: still exact for a plane.
            for _ in range(3):
                for i in range(3):
                    for j in range(3):
                        if not np.isnan(w[i, j]):
                            continue
                        v = 2.0 * zc - w[2 - i, 2 - j]
                        if np.isnan(v) and j != 1:
                            v = 2.0 * w[i, 1] - w[i, 2 - j]
                        if np.isnan(v) and i != 1:
                            v = 2.0 * w[1, j] - w[2 - i, j]
                        w[i, j] = v
            for i in range(3):
                for j in range(3):
                    if np.isnan(w[i, j]):
                        w[i, j] = zc
            # Horn (1981): exact for any plane, the usual choice of GDAL/ArcGIS.
            dzdx = ((w[0, 2] + 2 * w[1, 2] + w[2, 2]) - (w[0, 0] + 2 * w[1, 0] + w[2, 0])) / (8.0 * dx)
            dzdy = ((w[2, 0] + 2 * w[2, 1] + w[2, 2]) - (w[0, 0] + 2 * w[0, 1] + w[0, 2])) / (8.0 * dy)
            out[r, c] = math.degrees(math.atan(math.sqrt(dzdx * dzdx + dzdy * dzdy)))


def _is_path(obj) -> bool:
    return isinstance(obj, (str, Path))


def _by_blocks(src, out, dtype, nodata, halo, block, kernel, src_dtype=np.float32):
    """Run ``kernel(window, out_window)`` block by block over ``src`` (array or GeoTIFF path) with a halo
    of ``halo`` cells into ``out`` (array, GeoTIFF path or None): the values of the whole-array run."""
    with Source(src, src_dtype) as s, sink_for(out, s.shape, dtype, nodata) as sink:
        for win in block_windows(s.shape, block or DEFAULT_BLOCK):
            (R0, R1, C0, C1), inner = with_halo(win, s.shape, halo)
            z = np.ascontiguousarray(s.read(R0, R1, C0, C1))
            o = np.empty(z.shape, dtype=dtype)
            kernel(z, o)
            sink.write(o[inner], win[0], win[2])
        return sink.close()


def slope(dem, cellsize, out=None, block: int | None = None):
    """Slope in degrees (Horn's method), float32; NaN where the DEM is NaN.

    ``cellsize`` is the cell size in metres: a number or (dx, dy). ``dem`` is an array or a GeoTIFF
    path; ``out`` an array, a path (tiled GeoTIFF) or None (new array). With ``block`` (or a path) the
    grid is read block by block with a 1-cell halo: same values, working memory a few blocks.
    Returns the array or the path.
    """
    dx, dy = _cell_size(cellsize)
    if block is None and not _is_path(dem) and not _is_path(out):
        z = _as_float32(dem)
        res = np.empty(z.shape, dtype=np.float32) if out is None else out
        _slope_kernel(z, dx, dy, res)
        return res
    return _by_blocks(dem, out, np.float32, np.nan, 1, block, lambda z, o: _slope_kernel(z, dx, dy, o))


# ------------------------------------------------------------------------------------ fill (priority-flood)

@numba.jit(**_JIT)
def _next_up(buf, ibuf, v):
    # float32 nextafter(v, +inf) through a bit view: numba has no float32 nextafter.
    if v == 0.0:
        return np.float32(1.401298464324817e-45)
    buf[0] = v
    if v > 0:
        ibuf[0] = ibuf[0] + 1
    else:
        ibuf[0] = ibuf[0] - 1
    return buf[0]


@numba.jit(**_JIT)
def _order_key(v):
    """float32 → uint64 whose order is the float order (IEEE bits, sign folded), in the upper 32 bits."""
    b = np.uint64(np.float32(v).view(np.uint32))
    if b & np.uint64(0x80000000):
        b = np.uint64(0xFFFFFFFF) - b
    else:
        b = b | np.uint64(0x80000000)
    return b << np.uint64(32)


@numba.jit(**_JIT)
def _heap_push(heap, size, item):
    # One uint64 per entry, the elevation's order key above the cell index: one comparison per level,
    # half the memory traffic of separate key and index arrays.
    if size == heap.shape[0]:
        grown = np.empty(heap.shape[0] * 2, dtype=heap.dtype)
        grown[:size] = heap[:size]
        heap = grown
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if heap[p] <= item:
            break
        heap[i] = heap[p]
        i = p
    heap[i] = item
    return heap, size + 1


@numba.jit(**_JIT)
def _heap_pop(heap, size):
    top = heap[0]
    size -= 1
    item = heap[size]
    i = 0
    while True:
        m = 2 * i + 1
        if m >= size:
            break
        if m + 1 < size and heap[m + 1] < heap[m]:
            m += 1
        if heap[m] >= item:
            break
        heap[i] = heap[m]
        i = m
    heap[i] = item
    return top, size


@numba.jit(**_JIT)
def _fifo_push(q, head, tail, count, v):
    if count == q.shape[0]:  # full: double and unroll the ring
        nq = np.empty(q.shape[0] * 2, dtype=q.dtype)
        for j in range(count):
            nq[j] = q[(head + j) % q.shape[0]]
        q = nq
        head = 0
        tail = count
    q[tail] = v
    tail += 1
    if tail == q.shape[0]:
        tail = 0
    return q, head, tail, count + 1


_LOW32 = np.uint64(0xFFFFFFFF)


@numba.jit(**_JIT)
def _neighbour(r, c, k, rows, cols):
    """Index of the k-th neighbour (D8 order) of cell (r, c), or -1 off the grid."""
    rr = r + _DR[k]
    cc = c + _DC[k]
    if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
        return -1
    return rr * cols + cc


@numba.jit(**_JIT)
def _next_cell(flat, heap, hsize, pit, phead, pcount):
    """The next cell in exact priority order: the FIFO front unless the heap top is lower
    (``(cell, hsize, phead, pcount)``; the FIFO's levels never decrease, so this keeps the order)."""
    if pcount > 0 and (hsize == 0 or flat[pit[phead]] <= flat[np.int64(heap[0] & _LOW32)]):
        ci = pit[phead]
        phead += 1
        if phead == pit.shape[0]:
            phead = 0
        return ci, hsize, phead, pcount - 1
    item, hsize = _heap_pop(heap, hsize)
    return np.int64(item & _LOW32), hsize, phead, pcount

#: Cells a slope trace may finish before it hands the rest to the heap: bounds its queue at 512 kB
#: (measured at 2 000²: 2¹², 2¹⁶ and 2²⁰ run in the same time; the result never depends on it).
_TRACE_CAP = 1 << 16


@numba.jit(**_JIT)
def _fill_kernel(z, epsilon, closed, trace_cap=_TRACE_CAP):
    """Priority-flood in exact priority order (Barnes et al. 2014, with the plain queue).

    The value given to a cell is the lowest, over all paths from an outlet (grid border or a cell
    beside nodata), of the path's highest elevation (``epsilon``: each step rises at least one float32
    ulp). Cells are finished in non-decreasing value, which makes that value unique whatever the
    order of ties (so tiles can reproduce it, see ``tiled``). Two shortcuts change no value:

    - a cell at or below the level of the cell that reaches it is raised to that level and queued
      in a plain FIFO instead of the heap (Barnes et al. 2014): those levels arrive in non-decreasing
      order, so taking the lower of the FIFO front and the heap top keeps the exact order;
    - a cell above that level keeps its elevation (no lower path can exist), and so does every cell
      reached from it climbing strictly: a breadth-first slope trace finishes them without the heap
      (Zhou, Sun & Fu 2016), and only a traced cell with a lower or equal unfinished neighbour goes on
      the heap (one uint64 each), to be expanded in priority order. On the dissected test relief this
      halves the fill's time; on noisy relief, where nearly every cell has a lower neighbour, it is
      neutral. ``trace_cap`` = 0 turns the trace off.
    """
    rows, cols = z.shape
    n = rows * cols
    flat = z.reshape(n)
    cap = max(1024, 2 * (rows + cols))
    heap = np.empty(cap, dtype=np.uint64)
    hsize = 0
    pit = np.empty(cap, dtype=np.int64)
    phead = 0
    ptail = 0
    pcount = 0
    buf = np.empty(1, dtype=np.float32)
    ibuf = buf.view(np.int32)
    tq = np.empty(max(1, trace_cap), dtype=np.int64)
    # Seeds: the grid border and every valid cell touching nodata (holes drain out, like an edge).
    for r in range(rows):
        edge_row = r == 0 or r == rows - 1
        for c in range(cols):
            i = r * cols + c
            if np.isnan(flat[i]):
                closed[i] = 1
                continue
            if closed[i]:
                continue
            seed = edge_row or c == 0 or c == cols - 1
            if not seed:
                for k in range(8):
                    if np.isnan(flat[i + _DR[k] * cols + _DC[k]]):
                        seed = True
                        break
            if seed:
                closed[i] = 1
                heap, hsize = _heap_push(heap, hsize, _order_key(flat[i]) | np.uint64(i))
    while hsize > 0 or pcount > 0:
        ci, hsize, phead, pcount = _next_cell(flat, heap, hsize, pit, phead, pcount)
        zc = flat[ci]
        level = _next_up(buf, ibuf, zc) if epsilon else zc
        r = ci // cols
        c = ci - r * cols
        for k in range(8):
            ni = _neighbour(r, c, k, rows, cols)
            if ni < 0 or closed[ni]:
                continue
            closed[ni] = 1
            if flat[ni] <= level:
                flat[ni] = level
                pit, phead, ptail, pcount = _fifo_push(pit, phead, ptail, pcount, ni)
            elif trace_cap == 0:
                heap, hsize = _heap_push(heap, hsize, _order_key(flat[ni]) | np.uint64(ni))
            else:
                # slope trace, breadth first: every cell reached climbing strictly keeps its elevation
                tq[0] = ni
                th = 0
                tt = 1
                while th < tt:
                    t = tq[th]
                    th += 1
                    zt = flat[t]
                    lt = _next_up(buf, ibuf, zt) if epsilon else zt
                    tr = t // cols
                    tc = t - tr * cols
                    deferred = False
                    for j in range(8):
                        mi = _neighbour(tr, tc, j, rows, cols)
                        if mi < 0 or closed[mi]:
                            continue
                        if flat[mi] > lt and tt < tq.shape[0]:
                            closed[mi] = 1
                            tq[tt] = mi
                            tt += 1
                        else:
                            deferred = True
                    if deferred:
                        heap, hsize = _heap_push(heap, hsize, _order_key(zt) | np.uint64(t))


def fill_depressions(dem, epsilon: bool = False, inplace: bool = False, out=None, tile: int | None = None):
    """Fill every depression (priority-flood) and return the filled float32 grid.

    Each cell gets the lowest level at which water from it can leave the grid: the lowest, over all
    paths to the grid border or to a nodata cell, of the path's highest elevation. Nodata (NaN) cells
    stay NaN and act like the grid border.

    With ``epsilon=True`` every step along such a path also rises at least one float32 ulp (PF+ε), so
    filled flats slope towards their outlet and D8 finds a downhill neighbour everywhere (~0.25 mm per
    cell at 3 000 m). The result is unique (no dependence on processing order).

    With ``inplace=True`` a C-contiguous float32 ``dem`` is filled in place and returned (no copy:
    the fill then needs 1 byte per cell beyond the DEM, the "closed" flags, plus the front).

    ``tile`` (cells per side) fills a GeoTIFF ``dem`` tile by tile into the GeoTIFF ``out`` without
    holding the grid (``geo_app.water.terrain.tiled``; ``epsilon=False`` only): the same values.
    """
    if tile is not None:
        from geo_app.water.terrain.tiled import fill_tiled

        if epsilon:
            raise ValueError("tiled fill is plain (epsilon=False) only / lấp theo ô chỉ hỗ trợ epsilon=False")
        return fill_tiled(dem, out, tile)
    if out is not None:
        raise ValueError("out= is the GeoTIFF of a tiled fill: give tile= too")
    z = _as_float32(dem)
    if not inplace or z is not dem:
        z = z.copy()
    if z.size:
        _fill_kernel(z, bool(epsilon), np.zeros(z.size, dtype=np.uint8))
    return z


# ---------------------------------------------------------------------------------------------- D8

@numba.jit(parallel=True, **_JIT)
def _d8_kernel(z, dx, dy, out):
    rows, cols = z.shape
    diag = math.sqrt(dx * dx + dy * dy)
    inv = np.empty(8, dtype=np.float64)
    for k in range(8):
        inv[k] = 1.0 / (dx if _DR[k] == 0 else (dy if _DC[k] == 0 else diag))
    # Rows are independent: numba's parallel loop splits them between the cores.
    for r in numba.prange(rows):
        for c in range(cols):
            zc = z[r, c]
            code = 0
            if not np.isnan(zc):
                best = 0.0
                inner = 0 < r < rows - 1 and 0 < c < cols - 1
                for k in range(8):
                    rr = r + _DR[k]
                    cc = c + _DC[k]
                    if not inner and (rr < 0 or rr >= rows or cc < 0 or cc >= cols):
                        continue
                    zn = z[rr, cc]
                    # a NaN neighbour fails the comparison: no flow into nodata
                    drop = (zc - zn) * inv[k]
                    if drop > best:
                        best = drop
                        code = 1 << k
            out[r, c] = code


def flow_direction_d8(filled, cellsize, out=None, block: int | None = None):
    """D8 steepest-descent direction, uint8 ESRI codes (1=E, 2=SE, 4=S … 128=NE), 0 = no outflow.

    Run it on a DEM filled with ``epsilon=True``; then only border cells and cells beside nodata
    have code 0 (they are the outlets). ``block`` (or a GeoTIFF ``filled``/``out``) runs block by block
    with a 1-cell halo: the same codes.
    """
    dx, dy = _cell_size(cellsize)
    if block is None and not _is_path(filled) and not _is_path(out):
        z = _as_float32(filled)
        res = np.empty(z.shape, dtype=np.uint8) if out is None else out
        _d8_kernel(z, dx, dy, res)
        return res
    return _by_blocks(filled, out, np.uint8, 0, 1, block, lambda z, o: _d8_kernel(z, dx, dy, o))


# ------------------------------------------------------------------------------------ accumulation

@numba.jit(**_JIT)
def _code_index(code):
    k = 0
    while code > 1:
        code >>= 1
        k += 1
    return k


@numba.jit(**_JIT)
def _downstream(d8, r, c, rows, cols):
    """Index of the cell (r, c) drains into, or -1 (no outflow, or off the grid)."""
    code = d8[r, c]
    if code == 0:
        return -1
    return _neighbour(r, c, _code_index(code), rows, cols)


@numba.jit(**_JIT)
def _accumulate(d8, valid, acc):
    """Add to ``acc`` (preset: each cell's own contribution) everything that flows into each cell.

    Flow leaving the array stops. Returns -1, or the index of a cell left undone (a D8 cycle).
    """
    rows, cols = d8.shape
    n = rows * cols
    flat_valid = valid.reshape(n)
    flat_acc = acc.reshape(n)
    indeg = np.zeros(n, dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            if flat_valid[r * cols + c]:
                nxt = _downstream(d8, r, c, rows, cols)
                if nxt >= 0:
                    indeg[nxt] += 1
    # Walk downstream from every cell whose inflows are all counted; a cell is passed on only when
    # its last inflow arrives, so each cell is visited once and no queue is needed.
    for start in range(n):
        if indeg[start] != 0 or not flat_valid[start]:
            continue
        cur = start
        while True:
            indeg[cur] = 255  # done
            r = cur // cols
            nxt = _downstream(d8, r, cur - r * cols, rows, cols)
            if nxt < 0 or not flat_valid[nxt]:
                break
            flat_acc[nxt] += flat_acc[cur]
            indeg[nxt] -= 1
            if indeg[nxt] != 0:
                break
            cur = nxt
    for i in range(n):
        if indeg[i] != 255 and flat_valid[i]:
            return i
    return -1


def _cycle_error(bad, cols):
    r, c = divmod(int(bad), cols)
    return ValueError(f"Hướng dòng chảy có vòng lặp tại hàng {r}, cột {c} / the D8 grid has a cycle at row {r}, col {c}")


def flow_accumulation(d8, valid=None, out=None, tile: int | None = None):
    """Number of cells draining through each cell, itself included (uint32; 0 on nodata).

    ``valid`` is a boolean mask of data cells (default: all). Multiply by the cell area for m².
    ``tile`` (cells per side) reads a GeoTIFF ``d8`` tile by tile into the GeoTIFF ``out`` without
    holding the grid (``geo_app.water.terrain.tiled``; ``valid`` is then a GeoTIFF whose NaN cells are
    nodata, e.g. the DEM, or None): the same counts.
    """
    if tile is not None:
        from geo_app.water.terrain.tiled import accumulation_tiled

        return accumulation_tiled(d8, valid, out, tile)
    if out is not None:
        raise ValueError("out= is the GeoTIFF of a tiled accumulation: give tile= too")
    d8 = np.ascontiguousarray(d8, dtype=np.uint8)
    if valid is None:
        valid = np.ones(d8.shape, dtype=np.bool_)
    valid = np.ascontiguousarray(valid, dtype=np.bool_)
    if d8.size >= 2**32:
        raise ValueError("raster too large for uint32 accumulation")
    acc = valid.astype(np.uint32)
    bad = _accumulate(d8, valid, acc)
    if bad >= 0:
        raise _cycle_error(bad, d8.shape[1])
    return acc


# ---------------------------------------------------------------------------------------------- TWI

@numba.jit(**_JIT)
def _twi_kernel(acc, slope_deg, cellwidth, cellarea, min_tan, out):
    rows, cols = acc.shape
    for r in range(rows):
        for c in range(cols):
            s = slope_deg[r, c]
            if np.isnan(s) or acc[r, c] == 0:
                out[r, c] = np.nan
                continue
            tanb = math.tan(math.radians(s))
            if tanb < min_tan:
                tanb = min_tan
            a = acc[r, c] * cellarea / cellwidth  # specific catchment area, m²/m
            out[r, c] = math.log(a / tanb)


def twi(acc, slope_deg, cellsize, min_tan: float = 0.001, out=None, block: int | None = None):
    """Topographic wetness index ln(a / tan β), float32.

    ``a`` is the specific catchment area (accumulated cells × cell area / cell width); tan β is
    clamped at ``min_tan`` so that flats give a finite, high value instead of infinity. Inputs are
    arrays or GeoTIFF paths; with ``block`` (or a path) it runs block by block (a local operation:
    no halo), same values.
    """
    dx, dy = _cell_size(cellsize)
    width, area, tan0 = math.sqrt(dx * dy), dx * dy, float(min_tan)
    with Source(acc) as a, Source(slope_deg, np.float32) as s:
        if a.shape != s.shape:
            raise ValueError("acc and slope must have the same shape")
        whole = block is None and not _is_path(out) and a.array is not None and s.array is not None
        with sink_for(out, a.shape, np.float32, np.nan) as sink:
            for win in block_windows(a.shape, max(a.shape) if whole else block or DEFAULT_BLOCK):
                ab = np.ascontiguousarray(a.read(*win))
                o = np.empty(ab.shape, dtype=np.float32)
                _twi_kernel(ab, np.ascontiguousarray(s.read(*win)), width, area, tan0, o)
                sink.write(o, win[0], win[2])
            return sink.close()


# ---------------------------------------------------------------------------------- streams, densities

def stream_network(acc: np.ndarray, cellsize, threshold_m2: float = 100_000.0) -> np.ndarray:
    """Stream cells (uint8 1/0): cells whose upstream area reaches ``threshold_m2`` (default 0.1 km²)."""
    return (np.asarray(acc) >= _min_stream_cells(cellsize, threshold_m2)).astype(np.uint8)


def _min_stream_cells(cellsize, threshold_m2):
    dx, dy = _cell_size(cellsize)
    return max(1, int(math.ceil(threshold_m2 / (dx * dy))))


class Streams:
    """The stream network of an accumulation grid, made only for the window asked (``streams[r0:r1, c0:c1]``):
    what :func:`drainage_density` takes block by block without a whole-grid stream raster."""

    def __init__(self, acc, cellsize, threshold_m2: float = 100_000.0):
        self.acc = acc
        self.shape = np.shape(acc)
        self.min_cells = _min_stream_cells(cellsize, threshold_m2)

    def __getitem__(self, window):
        return (np.asarray(self.acc[window]) >= self.min_cells).astype(np.uint8)

    def __array__(self, dtype=None, copy=None):
        out = self[:, :]
        return out if dtype is None else out.astype(dtype)


@numba.jit(**_JIT)
def _stream_length_kernel(streams, d8, dx, dy, out):
    diag = math.sqrt(dx * dx + dy * dy)
    rows, cols = streams.shape
    for r in range(rows):
        for c in range(cols):
            if streams[r, c] == 0:
                out[r, c] = 0.0
                continue
            code = d8[r, c]
            if code == 0:
                out[r, c] = 0.5 * (dx + dy)
            else:
                k = _code_index(code)
                if _DR[k] != 0 and _DC[k] != 0:
                    out[r, c] = diag
                elif _DR[k] == 0:
                    out[r, c] = dx
                else:
                    out[r, c] = dy


def stream_length(streams: np.ndarray, d8: np.ndarray, cellsize) -> np.ndarray:
    """Length of channel (m) inside each stream cell, along its D8 direction (float32)."""
    dx, dy = _cell_size(cellsize)
    out = np.empty(np.shape(streams), dtype=np.float32)
    _stream_length_kernel(np.ascontiguousarray(streams, dtype=np.uint8), np.ascontiguousarray(d8, dtype=np.uint8),
                          dx, dy, out)
    return out


class _StreamLength:
    """Stream length per cell, made only for the window asked (see :class:`Streams`)."""

    def __init__(self, streams, d8, cellsize):
        self.streams, self.d8, self.cellsize = streams, d8, cellsize
        self.shape = np.shape(d8)

    def __getitem__(self, window):
        return stream_length(self.streams[window], self.d8[window], self.cellsize)


def _density_window(cellsize, radius_m):
    dx, dy = _cell_size(cellsize)
    return 2 * max(1, int(round(radius_m / dy))) + 1, 2 * max(1, int(round(radius_m / dx))) + 1


def _line_density_array(length, cellsize, radius_m, valid):
    dx, dy = _cell_size(cellsize)
    size = _density_window(cellsize, radius_m)
    length = np.asarray(length, dtype=np.float32)
    if valid is None:
        valid = np.ones(length.shape, dtype=bool)
    mask = valid.astype(np.float32)
    mean_len = uniform_filter(np.where(valid, length, 0).astype(np.float32), size=size, mode="constant",
                              output=np.float32)
    frac = uniform_filter(mask, size=size, mode="constant", output=np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        # mean length per cell (m) / cell area (m²) → m/m² ; ×1000 → km/km²
        dens = np.where(frac > 0, mean_len / frac, np.nan) / np.float32(dx * dy) * np.float32(1000.0)
    dens = dens.astype(np.float32)
    dens[~valid] = np.nan
    return dens


def line_density(length_m, cellsize, radius_m: float, valid: np.ndarray | None = None, out=None,
                 block: int | None = None):
    """Density of line length, km per km², in a square moving window of half-side ``radius_m``.

    The window mean is taken over valid cells only, so the edge of the study area is not diluted.
    Works in float32 (scipy's uniform filter keeps the output dtype). ``length_m`` is an array or
    anything that gives a window's lengths when sliced (``length_m[r0:r1, c0:c1]``, so the length raster
    itself need not exist). With ``block`` each block is read with a halo of the window's half-size;
    zero padding beyond the grid edge is what the whole-grid filter does (``mode="constant"``), so the
    values are the whole grid's up to float32 rounding of the moving sums.
    """
    if block is None and not _is_path(out):
        dens = _line_density_array(length_m[:, :], cellsize, radius_m, valid)
        if out is None:
            return dens
        out[...] = dens
        return out
    shape = np.shape(length_m) if valid is None else valid.shape
    halo = max(_density_window(cellsize, radius_m)) // 2
    with sink_for(out, shape, np.float32, np.nan) as sink:
        for win in block_windows(shape, block or DEFAULT_BLOCK):
            (R0, R1, C0, C1), inner = with_halo(win, shape, halo)
            part = None if valid is None else valid[R0:R1, C0:C1]
            dens = _line_density_array(length_m[R0:R1, C0:C1], cellsize, radius_m, part)
            sink.write(dens[inner], win[0], win[2])
        return sink.close()


def drainage_density(streams, d8, cellsize, radius_m: float = 1000.0, valid: np.ndarray | None = None, out=None,
                     block: int | None = None):
    """Drainage density (km/km²) of the stream network in a moving window.

    ``streams`` is a uint8 array or a :class:`Streams` (then, with ``block``, the stream and
    stream-length rasters are made per block, never for the whole grid).
    """
    return line_density(_StreamLength(streams, d8, cellsize), cellsize, radius_m, valid, out=out, block=block)


def rasterize_line_length(lines, transform, shape) -> np.ndarray:
    """Length (m) of the given lines inside each cell (float32).

    Lines are cut into pieces no longer than a quarter cell and each piece is credited to the cell of
    its midpoint: the total is exact and the per-cell split is accurate to a fraction of a cell.
    """
    import shapely

    out = np.zeros(shape, dtype=np.float32)
    geoms = [g for g in np.asarray(lines, dtype=object) if g is not None and not g.is_empty]
    if not geoms:
        return out
    step = min(abs(transform.a), abs(transform.e)) / 4.0
    parts = shapely.get_parts(shapely.line_merge(shapely.segmentize(np.array(geoms, dtype=object), step)))
    parts = parts[shapely.get_type_id(parts) == 1]
    for line in parts:
        xy = shapely.get_coordinates(line)
        if len(xy) < 2:
            continue
        seg = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
        mx = (xy[1:, 0] + xy[:-1, 0]) / 2
        my = (xy[1:, 1] + xy[:-1, 1]) / 2
        col = np.floor((mx - transform.c) / transform.a).astype(np.int64)
        row = np.floor((my - transform.f) / transform.e).astype(np.int64)
        ok = (row >= 0) & (row < shape[0]) & (col >= 0) & (col < shape[1])
        np.add.at(out, (row[ok], col[ok]), seg[ok].astype(np.float32))
    return out
