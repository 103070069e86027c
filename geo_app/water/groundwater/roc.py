"""Validation of the potential index: ROC AUC at springs and wells against the rest of the study area."""
from __future__ import annotations

import numpy as np

from geo_app.water.groundwater.errors import PotentialError
from geo_app.water.terrain.blocks import DEFAULT_BLOCK, block_windows


def roc_auc(scores_pos: np.ndarray, scores_neg: np.ndarray) -> float:
    """Area under the ROC curve = P(positive scores higher than negative), ties counted half (Mann–Whitney)."""
    pos = np.asarray(scores_pos, dtype=np.float64)
    neg = np.sort(np.asarray(scores_neg, dtype=np.float64))
    if pos.size == 0 or neg.size == 0:
        raise PotentialError("ROC AUC cần cả điểm dương và âm / ROC AUC needs positives and negatives")
    below = np.searchsorted(neg, pos, side="left")
    ties = np.searchsorted(neg, pos, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (pos.size * neg.size))


def roc_auc_at_points(index, transform, points, mask):
    """AUC of the index at spring/well cells against every other cell of the study area."""
    xy = np.array([(p.x, p.y) for p in points.geometry if p is not None and not p.is_empty])
    if xy.size == 0:
        raise PotentialError("Lớp điểm nguồn nước rỗng / the springs layer has no points")
    cols = np.floor((xy[:, 0] - transform.c) / transform.a).astype(int)
    rows = np.floor((xy[:, 1] - transform.f) / transform.e).astype(int)
    inside = (rows >= 0) & (rows < index.shape[0]) & (cols >= 0) & (cols < index.shape[1])
    rows, cols = rows[inside], cols[inside]
    ok = mask[rows, cols]
    rows, cols = rows[ok], cols[ok]
    if rows.size == 0:
        raise PotentialError("Không có điểm nguồn nước nào trong vùng nghiên cứu / no spring/well lies in the study area")
    # the same as roc_auc(index[positive], index[mask & ~positive]) without copying the negatives and
    # without a grid of positives: each block's negatives are sorted and counted below / equal to each
    # distinct positive score; the positives of a block are marked in a block-sized flag array
    flat = np.unique(rows.astype(np.int64) * index.shape[1] + cols)  # each positive cell once
    prow, pcol = flat // index.shape[1], flat % index.shape[1]
    pos = np.asarray(index[prow, pcol], dtype=np.float64)
    upos, pos_mult = np.unique(pos, return_counts=True)
    below = np.zeros(upos.size, dtype=np.int64)
    ties = np.zeros(upos.size, dtype=np.int64)
    n_neg = 0
    for r0, r1, c0, c1 in block_windows(index.shape, DEFAULT_BLOCK):
        neg_mask = mask[r0:r1, c0:c1].copy()
        inside = (prow >= r0) & (prow < r1) & (pcol >= c0) & (pcol < c1)
        neg_mask[prow[inside] - r0, pcol[inside] - c0] = False
        neg = np.sort(index[r0:r1, c0:c1][neg_mask].astype(np.float64))
        n_neg += neg.size
        lo = np.searchsorted(neg, upos, side="left")
        below += lo
        ties += np.searchsorted(neg, upos, side="right") - lo
    if n_neg == 0:
        raise PotentialError("ROC AUC cần cả điểm dương và âm / ROC AUC needs positives and negatives")
    auc = float(((below * pos_mult).sum() + 0.5 * (ties * pos_mult).sum()) / (pos.size * n_neg))
    return auc, int(pos.size)
