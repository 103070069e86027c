"""Reclass tables (YAML): factor values → scores. See layers/groundwater/reclass.yaml."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml


class ReclassError(ValueError):
    """A reclass table that is malformed or does not cover the data; names factor and values."""


@dataclass(frozen=True)
class ReclassTable:
    factor: str
    ranges: tuple[tuple[float, float, float], ...] = ()  # [lo, hi) → score
    classes: tuple[tuple[int, float], ...] = ()  # code → score
    unit: str = ""

    @property
    def categorical(self) -> bool:
        return bool(self.classes)

    def check(self) -> None:
        """The ranges must be ordered and join without gaps or overlaps."""
        if self.categorical:
            return
        if not self.ranges:
            raise ReclassError(f"Yếu tố '{self.factor}': bảng phân loại rỗng / empty reclass table")
        for lo, hi, _ in self.ranges:
            if not lo < hi:
                raise ReclassError(f"Yếu tố '{self.factor}': khoảng [{lo}, {hi}) không hợp lệ / invalid range")
        for (lo1, hi1, _), (lo2, hi2, _) in zip(self.ranges, self.ranges[1:]):
            if hi1 < lo2:
                raise ReclassError(
                    f"Yếu tố '{self.factor}': bảng phân loại thiếu khoảng [{_n(hi1)}, {_n(lo2)}) {self.unit} / "
                    f"the reclass table for '{self.factor}' misses the value range [{_n(hi1)}, {_n(lo2)})"
                )
            if hi1 > lo2:
                raise ReclassError(
                    f"Yếu tố '{self.factor}': khoảng [{_n(lo1)}, {_n(hi1)}) chồng lên [{_n(lo2)}, {_n(hi2)}) / "
                    f"overlapping ranges in the reclass table for '{self.factor}'"
                )

    def apply(self, values: np.ndarray) -> np.ndarray:
        """Scores as float32 (NaN where the input is NaN); refuses data no range or class covers."""
        values = np.asarray(values)
        valid = ~np.isnan(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
        out = np.full(values.shape, np.nan, dtype=np.float32)
        covered = np.zeros(values.shape, dtype=bool)
        if self.categorical:
            for code, score in self.classes:
                hit = valid & (values == code)
                out[hit] = score
                covered |= hit
            missing = valid & ~covered
            if missing.any():
                codes = np.unique(values[missing])
                shown = ", ".join(_n(c) for c in codes[:10]) + (" …" if len(codes) > 10 else "")
                raise ReclassError(
                    f"Yếu tố '{self.factor}': mã {shown} không có trong bảng phân loại ({int(missing.sum())} ô) / "
                    f"codes {shown} of '{self.factor}' have no score in the reclass table"
                )
            return out
        for lo, hi, score in self.ranges:
            hit = valid & (values >= lo) & (values < hi)
            out[hit] = score
            covered |= hit
        missing = valid & ~covered
        if missing.any():
            vals = values[missing]
            lo, hi = float(vals.min()), float(vals.max())
            raise ReclassError(
                f"Yếu tố '{self.factor}': giá trị {_n(lo)}–{_n(hi)} {self.unit} ({int(missing.sum())} ô) không thuộc "
                f"khoảng nào của bảng phân loại (bảng phủ [{_n(self.ranges[0][0])}, {_n(self.ranges[-1][1])})) / "
                f"values {_n(lo)}–{_n(hi)} of '{self.factor}' fall in no range of the reclass table"
            )
        return out


def _n(v) -> str:
    v = float(v)
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return f"{v:g}"


def parse_tables(raw: dict) -> dict[str, ReclassTable]:
    if not isinstance(raw, dict) or not isinstance(raw.get("factors"), dict):
        raise ReclassError("Tệp phân loại cần khóa 'factors' / the reclass file needs a 'factors' mapping")
    tables = {}
    for name, spec in raw["factors"].items():
        if not isinstance(spec, dict) or not (("ranges" in spec) ^ ("classes" in spec)):
            raise ReclassError(f"Yếu tố '{name}': cần 'ranges' hoặc 'classes' / needs either 'ranges' or 'classes'")
        if "ranges" in spec:
            try:
                ranges = tuple((float(lo), float(hi), float(s)) for lo, hi, s in spec["ranges"])
            except (TypeError, ValueError):
                raise ReclassError(f"Yếu tố '{name}': mỗi khoảng là [min, max, điểm] / each range is [min, max, score]") from None
            table = ReclassTable(str(name), ranges=tuple(sorted(ranges)), unit=str(spec.get("unit", "")))
        else:
            classes = []
            for code, entry in spec["classes"].items():
                score = entry["score"] if isinstance(entry, dict) else entry
                classes.append((int(code), float(score)))
            table = ReclassTable(str(name), classes=tuple(sorted(classes)))
        table.check()
        tables[str(name)] = table
    return tables


def load_reclass(path: str | Path) -> dict[str, ReclassTable]:
    return parse_tables(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
