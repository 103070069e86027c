"""Reclass tables (YAML): factor values → scores. See layers/groundwater/reclass.yaml."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from geo_app.admin.names import fold
from geo_app.errors import InputError


class ReclassError(InputError):
    """A reclass table that is malformed or does not cover the data; names factor and values."""


@dataclass(frozen=True)
class ReclassTable:
    factor: str
    ranges: tuple[tuple[float, float, float], ...] = ()  # [lo, hi) → score
    classes: tuple[tuple[int, float], ...] = ()  # code → score
    unit: str = ""
    #: categorical tables: text values of a vector layer's field → code (folded text, code), from
    #: each class's ``name`` and ``values`` in the YAML, so polygons can say "đá vôi" instead of 1
    labels: tuple[tuple[str, int], ...] = ()

    def code_for(self, value) -> int | None:
        """The class code of a field value of the user's polygons: the code itself, or a label."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating)) and float(value).is_integer()):
            return int(value)
        text = label_key(value)
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        for label, code in self.labels:
            if text == label:
                return code
        return None

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


def label_key(value) -> str:
    """Comparable form of a class label: lower case, no diacritics, single spaces."""

    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(str(value))).split())


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
            classes, labels = [], {}
            for code, entry in spec["classes"].items():
                score = entry["score"] if isinstance(entry, dict) else entry
                classes.append((int(code), float(score)))
                if isinstance(entry, dict):
                    names = [entry.get("name")] if entry.get("name") else []
                    # "đá vôi, đá hoa (karst) / limestone, marble (karst)": the whole name and each half
                    names += [part for n in list(names) for part in str(n).split(" / ")]
                    for text in names + list(entry.get("values") or []):
                        key = label_key(text)
                        if key in labels and labels[key] != int(code):
                            raise ReclassError(
                                f"Yếu tố '{name}': nhãn '{text}' dùng cho cả mã {labels[key]} và {code} / "
                                f"label '{text}' is given to two codes")
                        labels[key] = int(code)
            table = ReclassTable(str(name), classes=tuple(sorted(classes)), labels=tuple(sorted(labels.items())))
        table.check()
        tables[str(name)] = table
    return tables


def load_reclass(path: str | Path) -> dict[str, ReclassTable]:
    return parse_tables(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
