"""Presentation data of a layer (popup rows, coded values in words, class styles, legend), as the layer YAML
defines it beside the style. One reading for every map: the web map page (``static/map.js`` gets the rows in
:func:`web_presentation`'s shape) and the folium maps (popups written here as HTML, the same rows, the same
words, the same number format).
"""
from __future__ import annotations

import html
import math

import numpy as np

from geo_app.store.catalogue import LayerInfo

LANGS = ("vi", "en")
#: fields tried in turn for a popup's heading, as the web map does
HEADING_FIELDS = ("full_name", "label", "name", "unit", "title")


def text(words: dict | str | None, lang: str = "vi") -> str:
    """``{vi, en}`` in the reader's language (Vietnamese when the language is missing)."""
    if isinstance(words, dict):
        return words.get(lang) or words.get("vi") or ""
    return "" if words is None else str(words)


def web_presentation(info: LayerInfo) -> dict:
    """The layer YAML's popup rows, value labels and class styles in the map page's shape:
    ``popup`` as ``[field, {vi, en}, unit, digits]`` rows, ``values`` for the popup's coded fields."""
    out = {}
    if info.popup:
        out["popup"] = [[row["field"], row["label"], row.get("unit", ""), row.get("digits", 2)] for row in info.popup]
        out["values"] = {row["field"]: info.values[row["field"]] for row in info.popup if row["field"] in info.values}
    if info.classes:
        out["classes"] = info.classes
    return out


def popup_fields(info: LayerInfo) -> list[str]:
    """The properties a popup reads (heading candidates, rows, the class field): all a map needs to embed."""
    fields = [f for f in HEADING_FIELDS]
    fields += [row["field"] for row in info.popup]
    if info.classes:
        fields.append(info.classes["field"])
    return list(dict.fromkeys(fields))


def _empty(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def format_number(value: float, digits: int, lang: str) -> str:
    """As the browser's ``toLocaleString`` writes it for vi-VN (1.234,5) and en-GB (1,234.5)."""
    rounded = round(float(value), digits)
    s = f"{rounded:,.{digits}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if lang == "vi":
        s = s.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return s


def popup_html(info: LayerInfo, props: dict, lang: str = "vi") -> str:
    """The popup of one feature, as ``static/map.js`` builds it: the name as heading, one row per YAML row."""
    head = next((props[f] for f in HEADING_FIELDS if not _empty(props.get(f))), None)
    head = text(info.title, lang) if head is None else head
    rows = []
    for row in info.popup:
        value = props.get(row["field"])
        if _empty(value):
            continue
        words = info.values.get(row["field"], {}).get(value)
        if words is None and not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.number)):
            shown = format_number(value, row.get("digits", 2), lang)
        else:
            shown = text(words, lang) if words is not None else str(value)
        unit = f" {html.escape(row['unit'])}" if row.get("unit") else ""
        rows.append(f"<tr><th>{html.escape(text(row['label'], lang))}</th><td>{html.escape(shown)}{unit}</td></tr>")
    return f'<div class="popup"><b>{html.escape(str(head))}</b><table>{"".join(rows)}</table></div>'


def class_styles(info: LayerInfo) -> dict:
    """Class value → full style (the layer style overlaid with the class's own), as the web map merges them."""
    if not info.classes:
        return {}
    return {str(c["value"]): {**info.style, **c["style"]} for c in info.classes["classes"]}


def legend_entries(info: LayerInfo, lang: str = "vi") -> list[tuple[str, dict]]:
    """(title, style) of each legend line: one per class for a classed layer, else the layer's own."""
    if info.classes:
        styles = class_styles(info)
        return [(text(c["title"], lang), styles[str(c["value"])]) for c in info.classes["classes"]]
    return [(text(info.legend or info.title, lang), info.style)]
