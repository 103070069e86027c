"""Label placement on the sheet: no two labels overlap, and point numbers keep off the boundary.

The page is an occupancy grid of ``CELL_MM`` cells. A label is placed at the first of its
candidate positions whose box (measured from the font, plus a clear margin) finds every cell free;
its cells are then taken. Lines that labels must not sit on (the area's outline) and the point
markers take their cells first. The grid errs on the side of space: two boxes that share a cell
count as touching, so placed labels never overlap, whatever the rounding.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from matplotlib.font_manager import FontProperties, get_font
from matplotlib.ft2font import LoadFlags

PT_TO_MM = 25.4 / 72.0
CELL_MM = 0.25
#: Clear space around every label box (mm), so neighbours read as separate words.
PAD_MM = 0.35

#: Widths are the sum of the glyphs' advances (no kerning, no shaping: shaping a string costs
#: milliseconds, an advance is looked up once per letter), so they are widened by this much.
WIDTH_MARGIN = 1.03


@lru_cache(maxsize=8192)
def _advance_em(fname: str, char: str) -> float:
    """The advance of one glyph in em, unhinted (so it scales exactly with the type size)."""
    face = get_font(fname)
    face.set_size(100.0, 72)
    return face.load_char(ord(char), flags=LoadFlags.NO_HINTING).linearHoriAdvance / 65536.0 / 100.0


@lru_cache(maxsize=4096)
def _measure(text: str, size: float, fname: str) -> tuple[float, float]:
    width_pt = sum(_advance_em(fname, ch) for ch in text) * size * WIDTH_MARGIN
    # Height of the line as a PDF reader boxes it (ascent + descent of DejaVu Sans ≈ 1.17 em).
    return width_pt * PT_TO_MM, size * 1.17 * PT_TO_MM


def text_size_mm(text: str, prop: FontProperties) -> tuple[float, float]:
    return _measure(text, float(prop.get_size_in_points()), prop.get_file())


def box_of(x: float, y: float, w: float, h: float, ha: str, va: str) -> tuple[float, float, float, float]:
    x0 = {"left": x, "center": x - w / 2, "right": x - w}[ha]
    y0 = {"bottom": y, "center": y - h / 2, "top": y - h, "baseline": y - 0.2 * h}[va]
    return (x0, y0, x0 + w, y0 + h)


class Placer:
    def __init__(self, width_mm: float, height_mm: float):
        self.nx = int(np.ceil(width_mm / CELL_MM)) + 1
        self.ny = int(np.ceil(height_mm / CELL_MM)) + 1
        self.taken = np.zeros((self.ny, self.nx), dtype=bool)

    def _slice(self, box, pad: float):
        x0 = max(int(np.floor((box[0] - pad) / CELL_MM)), 0)
        y0 = max(int(np.floor((box[1] - pad) / CELL_MM)), 0)
        x1 = min(int(np.ceil((box[2] + pad) / CELL_MM)), self.nx)
        y1 = min(int(np.ceil((box[3] + pad) / CELL_MM)), self.ny)
        return slice(y0, max(y1, y0 + 1)), slice(x0, max(x1, x0 + 1))

    def free(self, box, pad: float = PAD_MM) -> bool:
        return not self.taken[self._slice(box, pad)].any()

    def take(self, box, pad: float = 0.0) -> None:
        self.taken[self._slice(box, pad)] = True

    def take_lines(self, lines_mm: list[np.ndarray], width_mm: float = 0.4) -> None:
        """Take the cells under polylines (paper mm), densified to half a cell."""
        half = width_mm / 2
        for line in lines_mm:
            if len(line) < 2:
                continue
            seg = np.diff(line, axis=0)
            n = np.maximum(np.ceil(np.hypot(seg[:, 0], seg[:, 1]) / (CELL_MM / 2)).astype(int), 1)
            t = np.concatenate([np.arange(k) / k for k in n])
            start = np.repeat(line[:-1], n, axis=0)
            pts = np.vstack([start + np.repeat(seg, n, axis=0) * t[:, None], line[-1:]])
            for dx in (-half, 0.0, half):
                for dy in (-half, 0.0, half):
                    ix = np.clip(((pts[:, 0] + dx) / CELL_MM).astype(int), 0, self.nx - 1)
                    iy = np.clip(((pts[:, 1] + dy) / CELL_MM).astype(int), 0, self.ny - 1)
                    self.taken[iy, ix] = True

    def copy(self) -> Placer:
        other = Placer.__new__(Placer)
        other.nx, other.ny, other.taken = self.nx, self.ny, self.taken.copy()
        return other

    def place(self, candidates, w: float, h: float, within=None, pad: float = PAD_MM):
        """The first candidate ``(x, y, ha, va)`` whose box is free (and inside ``within``, a box),
        taken and returned with its box; ``None`` when none is."""
        for x, y, ha, va in candidates:
            box = box_of(x, y, w, h, ha, va)
            if within is not None and not (box[0] >= within[0] and box[1] >= within[1] and box[2] <= within[2]
                                           and box[3] <= within[3]):
                continue
            if self.free(box, pad):
                self.take(box)
                return (x, y, ha, va), box
        return None
