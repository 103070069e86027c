"""The AHP weighted overlay of reclassed factors, block by block."""
from __future__ import annotations

import numpy as np

from geo_app.water.terrain.blocks import DEFAULT_BLOCK, Source, block_windows, sink_for


def weighted_overlay(layers: dict, tables: dict, weights: dict, mask: np.ndarray, out=None,
                     block: int = DEFAULT_BLOCK):
    """AHP weighted overlay of reclassed factors, block by block: index = Σ wᵢ · scoreᵢ (float32).

    ``layers``: factor rasters by name, in the order they are summed, each an array on the grid or a
    GeoTIFF path; ``tables``: the reclass tables; ``weights``: the weight of each factor. ``mask``
    (bool) is updated in place: a cell lacking any factor's score leaves it. The index is NaN outside
    the mask. ``out``: an array to fill, a path (a tiled float32 GeoTIFF) or None (a new array).

    Per cell this is exactly the whole-array computation (same float32 operations, same order), but
    the working memory is the reclassed scores and temporaries of one block (``block`` cells a side)
    per factor, whatever the size of the grid. A reclass error names the values of the block where
    it was found.
    """
    sources = {name: Source(value, np.float32) for name, value in layers.items()}
    try:
        with sink_for(out, mask.shape, np.float32, np.nan) as sink:
            for r0, r1, c0, c1 in block_windows(mask.shape, block):
                m = mask[r0:r1, c0:c1]  # a view: updated in place
                index = np.zeros(m.shape, dtype=np.float32)
                for name, src in sources.items():
                    scores = tables[name].apply(np.where(m, src.read(r0, r1, c0, c1), np.nan))
                    m &= ~np.isnan(scores)  # a cell lacking any used factor has no index
                    index += np.float32(weights[name]) * np.nan_to_num(scores, nan=0.0)
                    del scores
                index[~m] = np.nan
                sink.write(index, r0, c0)
            return sink.close()
    finally:
        for src in sources.values():
            src.close()
