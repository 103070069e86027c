"""Depression filling and flow accumulation of DEMs larger than memory, tile by tile (Barnes 2016).

Barnes, R. (2016). Parallel priority-flood depression filling for trillion cell digital elevation models
on desktops or clusters. Computers & Geosciences 96, 56–68; and Barnes, R. (2017). Parallel non-divergent
flow accumulation for trillion cell digital elevation models on desktops or clusters. Environmental
Modelling & Software 92, 202–212.

Both run in three stages over square tiles of a single-band GeoTIFF, and only the first and last stages
touch cells; each tile is independent of the others in them (the part that can run on many machines):

1. **solve each tile alone** and keep only what its edge needs (a few numbers per edge cell);
2. **resolve the graph of tile edges** globally, in memory (its size follows the tiles' perimeters, not
   their area: 2 × 10⁸ cells in 2 048² tiles have ~4 · 10⁵ edge cells);
3. **finish each tile** with its edge values from stage 2, and write it.

Fill (plain, ``epsilon=False``). A cell's filled level is the lowest, over all paths to an outlet, of the
path's highest elevation, so it is known once the levels of the tile's edge cells are. Stage 1 floods
each tile from its edge cells, each edge cell with a label of its own (nodata holes inside the tile:
the "ocean" label), and records for each pair of touching labels the lowest level at which they meet,
plus, across tile edges, the higher elevation of each pair of neighbouring edge cells and, for edge
cells on the grid border or beside nodata, their elevation as their spill to the ocean. The lowest
bottleneck from the ocean to each edge cell in that graph (stage 2: one Dijkstra) is its filled level:
a path between two cells of a tile passes through a chain of touching labels, each meeting no higher
than the path. Stage 3 floods each tile again from its edge cells set to those levels: every value is
the single-pass value, bit for bit (the tests check it on DEMs whose depressions cross tile edges).

Accumulation. Stage 1 accumulates each tile alone (flow leaving it stops) and follows D8 from every edge
cell to the edge cell where its flow leaves the tile. Stage 2 walks that forest of edge cells
downstream (each tile's outflow at an edge cell is its own accumulation there plus every inflow whose
path leads to it) and gives each edge cell what flows into it from other tiles. Stage 3 accumulates
each tile again with those inflows added: the counts are integers, so they equal the single pass.

Memory: one tile and its flags (fill: 4 + 4 + 1 + 1 B per tile cell; accumulation: 1 + 1 + 4 + 8 + 1 B)
and the edge graph, whatever the size of the DEM; GDAL reads and writes the tiles through its block
cache, capped at ``blocks.SCRATCH_CACHE_MB`` for the run.
"""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numba
import numpy as np
import rasterio
from rasterio.windows import Window

from geo_app.water.terrain.algorithms import (
    _DC,
    _DR,
    _JIT,
    _LOW32,
    _accumulate,
    _cycle_error,
    _downstream,
    _fifo_push,
    _fill_kernel,
    _heap_pop,
    _heap_push,
    _neighbour,
    _next_cell,
    _order_key,
)
from geo_app.water.terrain.blocks import block_windows, scratch_env

_UNSEEN = -1
_NODATA = -2


def tiles(shape, tile: int):
    """``(r0, r1, c0, c1)`` of the tiles covering ``shape``."""
    if tile < 3:
        raise ValueError(f"tile must be ≥ 3 cells (got {tile})")
    return block_windows(shape, tile)


def _read(ds, r0, r1, c0, c1, dtype=np.float32):
    a = ds.read(1, window=Window(c0, r0, c1 - c0, r1 - r0)).astype(dtype, copy=False)
    if dtype == np.float32 and ds.nodata is not None and not np.isnan(ds.nodata):
        a[a == np.float32(ds.nodata)] = np.nan
    return a


def _perimeter(h, w):
    """Local (row, col) of a tile's edge cells, clockwise from the top-left corner."""
    m = np.zeros((h, w), bool)
    m[0, :] = m[-1, :] = m[:, 0] = m[:, -1] = True
    return np.nonzero(m)


def _open_out(path, like, dtype, nodata):
    profile = dict(driver="GTiff", height=like.height, width=like.width, count=1, dtype=np.dtype(dtype).name,
                   crs=like.crs, transform=like.transform, nodata=nodata)
    if like.height >= 256 and like.width >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    return rasterio.open(path, "w", **profile)


# ------------------------------------------------------------------------------------------------ fill

@numba.jit(**_JIT)
def _label_flood(z, labels):
    """Priority-flood (plain) from every cell whose label is ≥ 0; unlabelled cells (-1) take the label
    of the cell that reaches them. Returns the touching label pairs and the level at which they meet.

    A pair of touching cells is recorded once, when the later of the two is finished, at its level
    (the higher of the two filled values, since cells are finished in non-decreasing level): so the
    rows come in non-decreasing level and the first row of a label pair is its lowest meeting level."""
    rows, cols = z.shape
    n = rows * cols
    flat = z.reshape(n)
    lab = labels.reshape(n)
    heap = np.empty(max(1024, 2 * (rows + cols)), dtype=np.uint64)
    hsize = 0
    pit = np.empty(1024, dtype=np.int64)
    phead = 0
    ptail = 0
    pcount = 0
    ea = np.empty(1024, dtype=np.int32)
    eb = np.empty(1024, dtype=np.int32)
    ew = np.empty(1024, dtype=np.float32)
    ne = 0
    done = np.zeros(n, dtype=np.uint8)
    for i in range(n):
        if lab[i] >= 0:
            heap, hsize = _heap_push(heap, hsize, _order_key(flat[i]) | np.uint64(i))
    while hsize > 0 or pcount > 0:
        ci, hsize, phead, pcount = _next_cell(flat, heap, hsize, pit, phead, pcount)
        level = flat[ci]
        own = lab[ci]
        done[ci] = 1
        r = ci // cols
        c = ci - r * cols
        for k in range(8):
            ni = _neighbour(r, c, k, rows, cols)
            if ni < 0:
                continue
            other = lab[ni]
            if other == _NODATA:
                continue
            if other == _UNSEEN:
                lab[ni] = own
                if flat[ni] <= level:
                    flat[ni] = level
                    pit, phead, ptail, pcount = _fifo_push(pit, phead, ptail, pcount, ni)
                else:
                    heap, hsize = _heap_push(heap, hsize, _order_key(flat[ni]) | np.uint64(ni))
            elif other != own and done[ni]:
                if ne == ea.shape[0]:
                    ea2 = np.empty(2 * ne, dtype=np.int32)
                    eb2 = np.empty(2 * ne, dtype=np.int32)
                    ew2 = np.empty(2 * ne, dtype=np.float32)
                    ea2[:ne] = ea[:ne]
                    eb2[:ne] = eb[:ne]
                    ew2[:ne] = ew[:ne]
                    ea, eb, ew = ea2, eb2, ew2
                ea[ne] = min(own, other)
                eb[ne] = max(own, other)
                ew[ne] = level
                ne += 1
    return ea[:ne], eb[:ne], ew[:ne]


def _lowest_per_pair(a, b, w, labels: int):
    """Keep, for each (a, b) pair, its first row (the lowest ``w``: rows come in non-decreasing ``w``)."""
    if a.size == 0:
        return a, b, w
    _, first = np.unique(a.astype(np.int64) * (labels + 1) + b, return_index=True)
    return a[first], b[first], w[first]


def _fill_stage1(ds, win, rows, cols):
    """Edges of the spill graph contributed by one tile: (gid a, gid b, level), gid -1 = the ocean."""
    r0, r1, c0, c1 = win
    R0, R1, C0, C1 = max(0, r0 - 1), min(rows, r1 + 1), max(0, c0 - 1), min(cols, c1 + 1)
    big = _read(ds, R0, R1, C0, C1)
    z = np.ascontiguousarray(big[r0 - R0:r1 - R0, c0 - C0:c1 - C0])
    h, w = z.shape
    nan = np.isnan(z)
    labels = np.full((h, w), _UNSEEN, dtype=np.int32)
    labels[nan] = _NODATA
    # nodata inside the tile: the cells beside it drain out (the ocean, label 0)
    padded = np.pad(nan, 1, constant_values=False)
    beside = np.zeros((h, w), bool)
    for dr, dc in zip(_DR, _DC):
        beside |= padded[1 + dr:1 + dr + h, 1 + dc:1 + dc + w]
    labels[beside & ~nan] = 0
    pr, pc = _perimeter(h, w)
    gid = (r0 + pr).astype(np.int64) * cols + (c0 + pc)
    keep = ~nan[pr, pc]
    pr, pc, gid = pr[keep], pc[keep], gid[keep]
    labels[pr, pc] = np.arange(1, pr.size + 1, dtype=np.int32)
    ea, eb, ew = _label_flood(z.copy(), labels)
    ea, eb, ew = _lowest_per_pair(ea, eb, ew, pr.size)
    to_gid = np.concatenate([[-1], gid])
    out_a, out_b, out_w = [to_gid[ea]], [to_gid[eb]], [ew]
    # across the tile's edge: each pair of neighbouring edge cells meets at the higher of the two
    # (recorded by the tile holding the lower cell index); on the grid border or beside nodata (in the
    # halo too), an edge cell spills to the ocean at its own elevation.
    zr, zc = pr + (r0 - R0), pc + (c0 - C0)
    ocean = (r0 + pr == 0) | (r0 + pr == rows - 1) | (c0 + pc == 0) | (c0 + pc == cols - 1)
    for dr, dc in zip(_DR, _DC):
        qr, qc = zr + dr, zc + dc
        inside_big = (qr >= 0) & (qr < big.shape[0]) & (qc >= 0) & (qc < big.shape[1])
        qr_c, qc_c = np.clip(qr, 0, big.shape[0] - 1), np.clip(qc, 0, big.shape[1] - 1)
        zq = big[qr_c, qc_c]
        outside_tile = (pr + dr < 0) | (pr + dr >= h) | (pc + dc < 0) | (pc + dc >= w)
        ocean |= inside_big & np.isnan(zq)
        cross = inside_big & outside_tile & ~np.isnan(zq)
        qgid = (R0 + qr).astype(np.int64) * cols + (C0 + qc)
        cross &= qgid > gid
        out_a.append(gid[cross])
        out_b.append(qgid[cross])
        out_w.append(np.maximum(z[pr[cross], pc[cross]], zq[cross]))
    out_a.append(np.full(int(ocean.sum()), -1, np.int64))
    out_b.append(gid[ocean])
    out_w.append(z[pr[ocean], pc[ocean]])
    return gid, np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_w).astype(np.float32)


@numba.jit(**_JIT)
def _lowest_bottleneck(indptr, nbr, wts, source):
    """Dijkstra on bottlenecks: each node's lowest, over paths from ``source``, of the highest edge."""
    n = indptr.shape[0] - 1
    level = np.full(n, np.inf, dtype=np.float32)
    done = np.zeros(n, dtype=np.uint8)
    heap = np.empty(1024, dtype=np.uint64)
    hsize = 0
    level[source] = -np.inf
    heap, hsize = _heap_push(heap, hsize, _order_key(level[source]) | np.uint64(source))
    while hsize > 0:
        item, hsize = _heap_pop(heap, hsize)
        u = np.int64(item & _LOW32)
        if done[u]:
            continue
        done[u] = 1
        for e in range(indptr[u], indptr[u + 1]):
            v = nbr[e]
            cand = max(level[u], wts[e])
            if cand < level[v]:
                level[v] = cand
                heap, hsize = _heap_push(heap, hsize, _order_key(cand) | np.uint64(v))
    return level


def _edge_levels(nodes, a, b, w):
    """Filled level of every edge cell (``nodes``, sorted gids) from the spill graph's edges."""
    ocean = nodes.size
    ia = np.where(a < 0, ocean, np.searchsorted(nodes, a))
    ib = np.where(b < 0, ocean, np.searchsorted(nodes, b))
    src = np.concatenate([ia, ib])
    dst = np.concatenate([ib, ia])
    wts = np.concatenate([w, w])
    order = np.argsort(src, kind="stable")
    indptr = np.zeros(ocean + 2, dtype=np.int64)
    np.add.at(indptr, src + 1, 1)
    np.cumsum(indptr, out=indptr)
    return _lowest_bottleneck(indptr, dst[order].astype(np.int64), wts[order], ocean)[:ocean]


def fill_tiled(dem, out, tile: int = 2048) -> Path:
    """:func:`fill_depressions` (``epsilon=False``) of the GeoTIFF ``dem`` into the GeoTIFF ``out``, tile by
    tile: bit-identical to the single pass, memory of one tile plus the edge graph."""
    if out is None:
        raise ValueError("a tiled fill writes a GeoTIFF: give out= a path")
    out = Path(out)
    # GDAL's block cache capped (5 % of RAM by default): each tile is read whole, twice, so a larger
    # cache only holds memory
    with scratch_env(), rasterio.open(dem) as ds:
        rows, cols = ds.height, ds.width
        if rows * cols >= 2**32:
            raise ValueError("raster too large: cell indices are 32-bit")
        gids, parts = [], []
        for win in tiles((rows, cols), tile):  # stage 1 (independent tiles)
            gid, a, b, w = _fill_stage1(ds, win, rows, cols)
            gids.append(gid)
            parts.append((a, b, w))
        nodes = np.sort(np.concatenate(gids))
        a, b, w = (np.concatenate([p[i] for p in parts]) for i in range(3))
        del parts, gids
        levels = _edge_levels(nodes, a, b, w)  # stage 2 (global, edge cells only)
        del a, b, w
        with _open_out(out, ds, np.float32, np.nan) as dst:
            for r0, r1, c0, c1 in tiles((rows, cols), tile):  # stage 3 (independent tiles)
                z = np.ascontiguousarray(_read(ds, r0, r1, c0, c1))
                pr, pc = _perimeter(*z.shape)
                keep = ~np.isnan(z[pr, pc])
                pr, pc = pr[keep], pc[keep]
                z[pr, pc] = levels[np.searchsorted(nodes, (r0 + pr).astype(np.int64) * cols + (c0 + pc))]
                _fill_kernel(z, False, np.zeros(z.size, dtype=np.uint8))
                dst.write(z, 1, window=Window(c0, r0, c1 - c0, r1 - r0))
    return out


# -------------------------------------------------------------------------------------------- accumulation

@numba.jit(**_JIT)
def _edge_exits(d8, valid, pr, pc):
    """For each edge cell (pr, pc) of a tile: the local index of the cell where its flow leaves the tile
    (its downstream is outside the tile), or -1 when the flow stops inside (memoised walks)."""
    rows, cols = d8.shape
    exit_of = np.full(rows * cols, -2, dtype=np.int64)
    path = np.empty(rows * cols, dtype=np.int64)
    res = np.empty(pr.shape[0], dtype=np.int64)
    for j in range(pr.shape[0]):
        cur = pr[j] * cols + pc[j]
        n = 0
        found = -1
        while True:
            if exit_of[cur] != -2:
                found = exit_of[cur]
                break
            path[n] = cur
            n += 1
            r = cur // cols
            c = cur - r * cols
            code = d8[r, c]
            if code == 0:
                found = -1
                break
            nxt = _downstream(d8, r, c, rows, cols)
            if nxt < 0:  # leaves the tile (or the grid: the global stage tells which)
                found = cur
                break
            if not valid[nxt // cols, nxt % cols]:
                found = -1
                break
            cur = nxt  # (no cycle: the tile's accumulation has checked)
        for q in range(n):
            exit_of[path[q]] = found
        res[j] = found
    return res


def _target(d8_code, r, c):
    k = np.zeros(d8_code.shape, np.int64)
    code = d8_code.astype(np.int64)
    while (code > 1).any():
        more = code > 1
        k[more] += 1
        code[more] >>= 1
    return r + _DR[k], c + _DC[k]


def _acc_stage1(d8ds, vds, win, rows, cols):
    r0, r1, c0, c1 = win
    d8 = np.ascontiguousarray(_read(d8ds, r0, r1, c0, c1, np.uint8))
    valid = _valid(vds, win, d8.shape)
    acc = valid.astype(np.uint32)
    bad = _accumulate(d8, valid, acc)
    if bad >= 0:
        r, c = divmod(int(bad), d8.shape[1])
        raise _cycle_error((r0 + r) * cols + c0 + c, cols)
    pr, pc = _perimeter(*d8.shape)
    keep = valid[pr, pc]
    pr, pc = pr[keep], pc[keep]
    ex = _edge_exits(d8, valid, pr.astype(np.int64), pc.astype(np.int64))
    w = d8.shape[1]
    gid = (r0 + pr).astype(np.int64) * cols + (c0 + pc)
    link = np.where(ex < 0, -1, (r0 + ex // w) * cols + (c0 + ex % w))
    # exit cells: their flow leaves the tile into the cell `target` (when that is on the grid)
    is_exit = ex == (pr * w + pc)
    er, ec = pr[is_exit], pc[is_exit]
    tr, tc = _target(d8[er, ec], r0 + er, c0 + ec)
    on = (tr >= 0) & (tr < rows) & (tc >= 0) & (tc < cols)
    return (gid, link, gid[is_exit][on], (tr * cols + tc)[on].astype(np.int64), acc[er, ec][on].astype(np.uint64))


def _valid(vds, win, shape):
    if vds is None:
        return np.ones(shape, dtype=np.bool_)
    return np.ascontiguousarray(~np.isnan(_read(vds, *win)))


@numba.jit(**_JIT)
def _edge_outflows(succ, base):
    """Outflow of each exit cell: its own tile's accumulation plus everything routed to it upstream
    (a forest: ``succ`` is the next exit downstream or -1), and whether every exit was reached (no cycle)."""
    n = succ.shape[0]
    indeg = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if succ[i] >= 0:
            indeg[succ[i]] += 1
    out = base.copy()
    stack = np.empty(n, dtype=np.int64)
    top = 0
    for i in range(n):
        if indeg[i] == 0:
            stack[top] = i
            top += 1
    seen = 0
    while top > 0:
        top -= 1
        u = stack[top]
        seen += 1
        v = succ[u]
        if v >= 0:
            out[v] += out[u]
            indeg[v] -= 1
            if indeg[v] == 0:
                stack[top] = v
                top += 1
    return out, seen == n


def accumulation_tiled(d8, valid, out, tile: int = 2048) -> Path:
    """:func:`flow_accumulation` of the D8 GeoTIFF ``d8`` into the uint32 GeoTIFF ``out``, tile by tile;
    ``valid``: a GeoTIFF whose NaN (or nodata) cells are nodata (e.g. the DEM), or None. Same counts as
    the single pass."""
    if out is None:
        raise ValueError("a tiled accumulation writes a GeoTIFF: give out= a path")
    out = Path(out)
    with scratch_env(), rasterio.open(d8) as d8ds, \
            (rasterio.open(valid) if valid is not None else nullcontext()) as vds:
        rows, cols = d8ds.height, d8ds.width
        if rows * cols >= 2**32:
            raise ValueError("raster too large for uint32 accumulation")
        parts = [_acc_stage1(d8ds, vds, win, rows, cols) for win in tiles((rows, cols), tile)]  # stage 1
        # stage 2: route the exits' outflows through the forest of edge cells
        pgid = np.concatenate([p[0] for p in parts])
        plink = np.concatenate([p[1] for p in parts])
        egid, etarget, ebase = (np.concatenate([p[i] for p in parts]) for i in (2, 3, 4))
        del parts
        order = np.argsort(pgid)
        pgid, plink = pgid[order], plink[order]
        pos = np.clip(np.searchsorted(pgid, etarget), 0, max(pgid.size - 1, 0))
        entered = (pgid.size > 0) & (pgid[pos] == etarget)  # the target is a valid edge cell
        eorder = np.argsort(egid)
        egid_sorted = egid[eorder]
        nxt_exit = np.where(entered, plink[pos], -1)
        succ = np.full(egid.size, -1, np.int64)
        has = nxt_exit >= 0
        succ[has] = eorder[np.searchsorted(egid_sorted, nxt_exit[has])]
        outflow, acyclic = _edge_outflows(succ, ebase)
        if not acyclic:
            raise ValueError("Hướng dòng chảy có vòng lặp giữa các ô / the D8 grid has a cycle across tiles")
        inflow_gid = etarget[entered]
        inflow = outflow[entered]
        with _open_out(out, d8ds, np.uint32, None) as dst:
            for win in tiles((rows, cols), tile):  # stage 3
                r0, r1, c0, c1 = win
                d8a = np.ascontiguousarray(_read(d8ds, r0, r1, c0, c1, np.uint8))
                va = _valid(vds, win, d8a.shape)
                acc = va.astype(np.uint32)
                rr, cc = inflow_gid // cols, inflow_gid % cols
                here = (rr >= r0) & (rr < r1) & (cc >= c0) & (cc < c1)
                np.add.at(acc, (rr[here] - r0, cc[here] - c0), inflow[here].astype(np.uint32))
                _accumulate(d8a, va, acc)
                dst.write(acc, 1, window=Window(c0, r0, c1 - c0, r1 - r0))
    return out
