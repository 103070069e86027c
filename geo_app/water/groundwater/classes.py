"""The potential index in n classes: exact quantiles (or equal intervals) block by block, and the names of the classes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo_app.water.groundwater.errors import PotentialError
from geo_app.water.terrain.blocks import DEFAULT_BLOCK, Source, block_windows, sink_for

CLASS_NAMES = (
    ("rất thấp", "very low"), ("thấp", "low"), ("trung bình", "moderate"), ("cao", "high"), ("rất cao", "very high"),
)


@dataclass
class Classification:
    """The n classes, their n − 1 inner breaks and what was done to get them (for the report)."""

    classes: np.ndarray  # uint8, 1..n, 0 outside the mask
    breaks: list  # strictly increasing, float32 values; class k holds breaks[k-2] <= index < breaks[k-1]
    method: str  # what was asked (quantile, equal_interval)
    method_used: str  # quantile | quantile, unique-value-aware | equal_interval
    cells: list  # cells per class, 1..n
    empty: list  # classes with no cell
    adjusted: bool  # the breaks of ``method`` were not strictly increasing or left a class empty
    notes: list  # Vietnamese / English

    def __iter__(self):  # ``classes, breaks = classify(...)`` as before
        return iter((self.classes, self.breaks))

    def as_dict(self) -> dict:
        return {"method": self.method, "method_used": self.method_used,
                "breaks": [round(b, 6) for b in self.breaks], "breaks_adjusted": self.adjusted,
                "cells": self.cells, "empty_classes": self.empty,
                "names": [f"{vi} / {en}" for vi, en in CLASS_NAMES]}


def classify(index, mask: np.ndarray, method: str = "quantile", n: int = 5, out=None,
             block: int = DEFAULT_BLOCK) -> Classification:
    """Classes 1..n (uint8, 0 outside ``mask``) with n − 1 strictly increasing inner breaks.

    ``quantile``: breaks at the 1/n … (n−1)/n quantiles. On a stepped index (a weighted sum of
    reclass scores takes few distinct values) several quantiles can fall on the same value, which
    would leave a class empty (breaks [3.0, 3.0, 3.3, 3.6] gave four classes). The breaks are then
    recomputed on the distinct values: each break is put on a distinct value, as near to its
    quantile in cell count as the values allow, so every class gets at least one value
    ("unique-value-aware quantiles"). ``equal_interval``: n equal intervals of [min, max].
    With fewer than n distinct values some classes must stay empty; the breaks stay strictly
    increasing and the result says which classes are empty (``empty``, ``notes``).

    ``index`` is a float32 array or a GeoTIFF path; ``out`` an array, a path (tiled GeoTIFF) or
    None (a new uint8 array, ``classes``). Memory: block by block (``block`` cells a side), a few
    blocks at a time. The quantiles are exact (the same values as ``np.quantile`` on the valid
    cells) without a copy of them: the order statistics are found from two bounded histograms of
    the float32 bit patterns (2 × 65 536 bins: the high 16 bits, then the low 16 bits inside the
    bins that hold the wanted ranks), deterministically. The distinct values for the
    unique-value-aware breaks are counted block by block (memory: the distinct values, which a
    stepped index has few of). mapclassify (BSD) was considered: its Quantiles drops classes on
    ties instead of keeping n.
    """
    if method not in ("quantile", "equal_interval"):
        raise PotentialError(f"Phương pháp phân lớp '{method}' không hỗ trợ / unknown class method (quantile, equal_interval)")
    with Source(index, np.float32) as src:
        blocks = _MaskedBlocks(src, mask, block)
        total, vmin, vmax, hist_hi = blocks.histogram()
        if total == 0:
            raise PotentialError("Không có ô nào để phân lớp / no cell to classify")
        notes, adjusted, method_used = [], False, method
        if method == "quantile":
            breaks = [np.float32(b) for b in blocks.quantiles(np.linspace(0, 1, n + 1)[1:-1], total, hist_hi)]
        else:
            breaks = [np.float32(b) for b in np.linspace(float(vmin), float(vmax), n + 1)[1:-1]]
        increasing = all(b1 < b2 for b1, b2 in zip(breaks, breaks[1:]))
        cells = blocks.count_classes(breaks, n)
        if method == "quantile" and (not increasing or 0 in cells):
            adjusted = True
            shown = ", ".join(f"{float(b):.4g}" for b in breaks)
            uniq, counts = blocks.unique_counts()
            breaks = _unique_value_breaks(uniq, counts, n)
            method_used = "quantile, unique-value-aware"
            now = ", ".join(f"{float(b):.4g}" for b in breaks)
            notes.append(
                f"Ngưỡng phân vị [{shown}] trùng nhau hoặc để trống một lớp (chỉ số chỉ có {uniq.size} giá trị khác nhau) nên "
                f"đã được tính lại trên các giá trị khác nhau: [{now}] / the "
                f"quantile breaks [{shown}] coincided or left a class empty (the index "
                f"takes {uniq.size} distinct values); they were recomputed on the distinct values so that every class has "
                f"cells where the values allow (unique-value-aware quantiles): [{now}]")
            del uniq, counts
        classes, cells = blocks.apply_breaks(breaks, n, out)
    empty = [k for k in range(1, n + 1) if cells[k - 1] == 0]
    if empty:
        names = ", ".join(f"{k} {CLASS_NAMES[k - 1][0]}" for k in empty)
        names_en = ", ".join(f"{k} {CLASS_NAMES[k - 1][1]}" for k in empty)
        notes.append(f"Lớp không có ô nào: {names} / empty classes (no cell): {names_en}")
    return Classification(classes, [float(b) for b in breaks], method, method_used, cells, empty, adjusted, notes)


def _sortable(values: np.ndarray) -> np.ndarray:
    """float32 → uint32 keys in the same order (sign bit flipped for positives, all bits for negatives)."""
    bits = values.view(np.uint32)
    return np.where(bits >> 31 == 1, ~bits, bits | np.uint32(0x80000000)).astype(np.uint32)


def _unsortable(key: int) -> np.float32:
    key = np.uint32(key)
    bits = key & np.uint32(0x7FFFFFFF) if key >> 31 == 1 else ~key
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


class _MaskedBlocks:
    """The valid cells of an index (array or GeoTIFF) block by block, for :func:`classify`."""

    def __init__(self, src, mask, block):
        self.src, self.mask, self.block = src, mask, block

    def __iter__(self):
        for win in block_windows(self.src.shape, self.block):
            r0, r1, c0, c1 = win
            m = self.mask[r0:r1, c0:c1]
            yield win, self.src.read(*win), m

    def histogram(self):
        """Count, min, max and the histogram of the high 16 bits of the sortable keys."""
        total, vmin, vmax = 0, None, None
        hist = np.zeros(1 << 16, dtype=np.int64)
        for _, v, m in self:
            v = v[m]
            if v.size == 0:
                continue
            total += v.size
            lo, hi = v.min(), v.max()
            vmin = lo if vmin is None else min(vmin, lo)
            vmax = hi if vmax is None else max(vmax, hi)
            hist += np.bincount(_sortable(v) >> 16, minlength=1 << 16)
        return total, np.float32(vmin if vmin is not None else np.nan), np.float32(vmax if vmax is not None else np.nan), hist

    def order_statistics(self, ranks, hist_hi) -> dict:
        """The values of the sorted valid cells at 0-based ``ranks``: exact, two passes of histograms."""
        cum = np.cumsum(hist_hi)
        where = {}
        for r in ranks:
            b = int(np.searchsorted(cum, r, side="right"))
            where[r] = (b, r - (int(cum[b - 1]) if b else 0))
        bins = sorted({b for b, _ in where.values()})
        low = {b: np.zeros(1 << 16, dtype=np.int64) for b in bins}
        for _, v, m in self:
            keys = _sortable(v[m])
            high = keys >> 16
            for b in bins:
                sel = keys[high == b]
                if sel.size:
                    low[b] += np.bincount(sel & np.uint32(0xFFFF), minlength=1 << 16)
        out = {}
        for r, (b, k) in where.items():
            lo = int(np.searchsorted(np.cumsum(low[b]), k, side="right"))
            out[r] = _unsortable((b << 16) | lo)
        return out

    def quantiles(self, qs, total, hist_hi) -> list:
        """``np.quantile(valid_cells, qs)`` (linear method) from the order statistics around each quantile."""
        virtual = (total - 1) * np.asarray(qs, dtype=np.float64)
        below = np.floor(virtual).astype(np.int64)
        above = np.minimum(below + 1, total - 1)
        stats = self.order_statistics(sorted(set(below.tolist()) | set(above.tolist())), hist_hi)
        out = []
        for v, lo, hi in zip(virtual, below, above):
            pair = np.array([stats[int(lo)], stats[int(hi)]], dtype=np.float32)
            # np.quantile on the two neighbours with the same fractional position: the same interpolation
            out.append(np.quantile(pair, v - lo))
        return out

    def count_classes(self, breaks, n) -> list:
        cells = np.zeros(n + 1, dtype=np.int64)
        for _, v, m in self:
            cells += np.bincount(_block_classes(v, m, breaks).ravel(), minlength=n + 1)[:n + 1]
        return [int(c) for c in cells[1:]]

    def apply_breaks(self, breaks, n, out):
        cells = np.zeros(n + 1, dtype=np.int64)
        with sink_for(out, self.src.shape, np.uint8, 0) as sink:
            for (r0, _, c0, _), v, m in self:
                cls = _block_classes(v, m, breaks)
                cells += np.bincount(cls.ravel(), minlength=n + 1)[:n + 1]
                sink.write(cls, r0, c0)
            classes = sink.close()
        return classes, [int(c) for c in cells[1:]]

    def unique_counts(self):
        """Distinct valid values and their cell counts, merged block by block."""
        uniq = np.empty(0, dtype=np.float32)
        counts = np.empty(0, dtype=np.int64)
        for _, v, m in self:
            u, c = np.unique(v[m], return_counts=True)
            if u.size == 0:
                continue
            allu = np.concatenate([uniq, u])
            allc = np.concatenate([counts, c.astype(np.int64)])
            uniq, inv = np.unique(allu, return_inverse=True)
            counts = np.zeros(uniq.size, dtype=np.int64)
            np.add.at(counts, inv.ravel(), allc)
        return uniq, counts


def _block_classes(v, m, breaks):
    classes = np.zeros(v.shape, dtype=np.uint8)
    classes[m] = 1
    for b in breaks:  # one bool temporary per break, compared in float32 like the index
        classes += (v >= np.float32(b)) & m
    return classes


def _unique_value_breaks(uniq: np.ndarray, counts: np.ndarray, n: int) -> list:
    """n − 1 strictly increasing breaks on distinct values ``uniq`` (sorted), each as near its quantile
    (in cells) as possible, with at least one distinct value per class when there are ≥ n values."""
    m = uniq.size
    if m >= n:
        cum = np.cumsum(counts)  # cells with value <= uniq[j]
        total = cum[-1]
        cuts, prev = [], -1  # cut j: the next class starts at uniq[j + 1]
        for k in range(1, n):
            lo, hi = prev + 1, m - 1 - (n - k)  # leave one value for each class above
            j = lo + int(np.argmin(np.abs(cum[lo:hi + 1] - total * k / n)))
            cuts.append(j)
            prev = j
        return [np.float32(uniq[j + 1]) for j in cuts]
    # fewer distinct values than classes: some classes must stay empty; equal intervals of [min, max]
    # put each value in the class its size calls for (the minimum in class 1, the maximum in class n).
    lo, hi = float(uniq[0]), float(uniq[-1])
    breaks = [np.float32(b) for b in np.linspace(lo, hi, n + 1)[1:-1]] if hi > lo else []
    if not breaks:  # one value: all cells in class 1, breaks just above it
        breaks = [np.float32(hi)]
    for i in range(1, n - 1):
        if len(breaks) <= i:
            breaks.append(breaks[-1])
        if not breaks[i] > breaks[i - 1]:
            breaks[i] = np.nextafter(breaks[i - 1], np.float32(np.inf), dtype=np.float32)
    if m == 1:
        breaks = [np.nextafter(b, np.float32(np.inf), dtype=np.float32) for b in breaks]
    return breaks
