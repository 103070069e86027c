"""Small helpers for bilingual messages: Vietnamese first, English beside, each half in its own language.

Numbers in the Vietnamese half use the decimal comma and the minus sign (−3,5), in the English half
the decimal point (-3.5); English counts take the right plural ("1 feature", "2 features").
"""
from __future__ import annotations

import math


def msg(vi: str, en: str) -> str:
    """One message: the Vietnamese half, then the English half."""
    return f"{vi} / {en}"


def _fmt(value, decimals: int | None) -> str:
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if decimals is None:
        return f"{value:g}"
    return f"{value:,.{decimals}f}" if abs(value) >= 10_000 else f"{value:.{decimals}f}"


def num_vi(value, decimals: int | None = None) -> str:
    """A number for the Vietnamese half: 10,7; −3; 12.345,6 (thousands with '.' from 10 000)."""
    text = _fmt(value, decimals)
    text = text.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")
    return text.replace("-", "\u2212", 1) if text.startswith("-") else text


def num_en(value, decimals: int | None = None) -> str:
    """A number for the English half: 10.7; -3; 12,345.6 (thousands with ',' from 10 000)."""
    return _fmt(value, decimals)


def count_en(n: int, singular: str, plural: str | None = None) -> str:
    """'1 feature', '2 features', '0 rows'."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
