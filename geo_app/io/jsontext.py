"""Strict JSON text: what the standard (RFC 8259) allows and nothing else.

Python's ``json`` writes ``NaN`` and ``Infinity`` for non-finite floats, which no other JSON parser (nor
SQLite's ``json_extract``) reads. Pandas turns a missing number into ``NaN``, so a report built from a data
frame carries them. :func:`clean` turns every non-finite float (and NumPy scalars) into plain values,
missing ones into ``None`` (``null``); :func:`dumps` writes with ``allow_nan=False`` so a stray one fails
loudly instead of producing text that is not JSON.
"""
from __future__ import annotations

import json
import math
from typing import Any


def clean(value: Any) -> Any:
    """The value with dicts, lists and tuples walked: non-finite floats → None, NumPy scalars → Python."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    item = getattr(value, "item", None)  # NumPy scalars
    if callable(item):
        return clean(item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def dumps(value: Any, **kwargs) -> str:
    """Strict JSON text of ``value`` after :func:`clean` (keys sorted, UTF-8 text kept unless told)."""
    kwargs.setdefault("ensure_ascii", False)
    kwargs.setdefault("sort_keys", True)
    return json.dumps(clean(value), allow_nan=False, **kwargs)


def _refuse_constant(name: str):
    raise ValueError(f"not JSON: {name}")


def loads_strict(text: str | bytes) -> Any:
    """Parse refusing ``NaN``, ``Infinity`` and ``-Infinity`` (what a strict parser does)."""
    return json.loads(text, parse_constant=_refuse_constant)
