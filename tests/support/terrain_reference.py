"""Plain-Python references for the terrain kernels (slow, obviously right), and SYNTHETIC test DEMs."""
from __future__ import annotations

import heapq

import numpy as np

NEIGHBOURS = [(0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1)]


def lowest_path_fill(z: np.ndarray, epsilon: bool) -> np.ndarray:
    """Each cell's lowest level over all paths to an outlet (border or beside NaN), by Dijkstra.

    A step onto a cell gives max(its elevation, the level before) — or, with ``epsilon``, max(its
    elevation, the next float32 above the level before).
    """
    z = np.asarray(z, dtype=np.float32)
    rows, cols = z.shape
    out = np.full(z.shape, np.inf, dtype=np.float32)
    out[np.isnan(z)] = np.nan
    heap = []
    for r in range(rows):
        for c in range(cols):
            if np.isnan(z[r, c]):
                continue
            seed = r in (0, rows - 1) or c in (0, cols - 1)
            seed = seed or any(np.isnan(z[r + dr, c + dc]) for dr, dc in NEIGHBOURS)
            if seed:
                out[r, c] = z[r, c]
                heapq.heappush(heap, (float(z[r, c]), r, c))
    done = np.zeros(z.shape, bool)
    while heap:
        w, r, c = heapq.heappop(heap)
        if done[r, c]:
            continue
        done[r, c] = True
        w = np.float32(w)
        step = np.nextafter(w, np.float32(np.inf)) if epsilon else w
        for dr, dc in NEIGHBOURS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < rows and 0 <= cc < cols and not np.isnan(z[rr, cc]) and not done[rr, cc]:
                cand = max(z[rr, cc], step)
                if cand < out[rr, cc]:
                    out[rr, cc] = cand
                    heapq.heappush(heap, (float(cand), rr, cc))
    return out


def pitted_dem(rows: int, cols: int, seed: int = 7, holes: bool = True) -> np.ndarray:
    """SYNTHETIC: a tilted, rough surface with many closed depressions (some wider than a small tile),
    flats, and nodata holes; float32."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:rows, 0:cols].astype(np.float32)
    z = 500 + 0.5 * r + 0.3 * c + 20 * np.sin(r / 9.0) * np.cos(c / 7.0) + rng.normal(0, 3, (rows, cols))
    z = np.round(z.astype(np.float32), 1)  # ties on purpose: equal elevations and flats
    z[rows // 3:rows // 3 + 12, cols // 4:cols // 4 + 30] = z.min() - 5  # a wide closed basin
    if holes:
        z[rows // 2:rows // 2 + 4, cols // 2:cols // 2 + 5] = np.nan
    return z.astype(np.float32)
