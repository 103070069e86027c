"""Published groundwater results on the web map: the current run's image overlays (made once from its COG into a
PNG and kept in memory per run) and the SYNTHETIC flag of what is shown.

What was published, and the provenance of every run, is read from the manifest that
``geo_app.water.groundwater.publish`` writes; nothing here writes.
"""
from __future__ import annotations

import hashlib
import threading

from geo_app.serve.maps.folium_map import overlay_png, overlay_style, raster_overlay
from geo_app.serve.maps.presentation import text
from geo_app.water.groundwater.publish import POTENTIAL_LAYER, published_dir, read_manifest

_PNG: dict[tuple[str, str], tuple[bytes, str, list, tuple[float, float]]] = {}
_LOCK = threading.Lock()
#: overlays drawn on the page, bottom to top
ORDER = ("groundwater-level", "groundwater-depth", "potential-index", "potential-class")
#: drawn but off when the page opens (the class polygons show the same classes)
OFF_BY_DEFAULT = {"potential-class", "groundwater-depth"}


def _current_runs() -> dict[str, dict]:
    """overlay kind → the current run that holds it."""
    out = {}
    for entry in read_manifest().values():
        run = entry.get("current")
        for overlay in (run or {}).get("overlays", {}):
            out[overlay] = run
    return out


def overlay(name: str) -> tuple[bytes, str, list, tuple[float, float]] | None:
    """(PNG, ETag, bounds, (min, max)) of a published overlay, or None when it is not published."""
    run = _current_runs().get(name)
    if run is None:
        return None
    key = (name, run["run_id"])
    with _LOCK:
        if key not in _PNG:
            path = published_dir() / run["folder"] / run["overlays"][name]
            png, bounds, span = overlay_png(raster_overlay(name, path, synthetic=run.get("synthetic", False)))
            _PNG[key] = (png, hashlib.sha256(png).hexdigest()[:32], bounds, span)
        return _PNG[key]


def _layer_run(layer_id: str) -> dict:
    if layer_id != POTENTIAL_LAYER:
        return {}
    return read_manifest().get("potential", {}).get("current") or {}


def is_synthetic(layer_id: str) -> bool:
    """Whether the published vector layer's current run was made from SYNTHETIC inputs."""
    return bool(_layer_run(layer_id).get("synthetic"))


def is_public(layer_id: str) -> bool:
    """Whether the published vector layer's current run was published for everyone (not only the logged-in)."""
    return bool(_layer_run(layer_id).get("public"))


def run_id(layer_id: str) -> str:
    """The id of the published vector layer's current run ('' when none): its data version."""
    run = _layer_run(layer_id)
    return f"{run.get('run_id', '')}-{'public' if run.get('public') else 'private'}"


def overlay_is_public(name: str) -> bool:
    return bool((_current_runs().get(name) or {}).get("public"))


def map_entries(url_for_overlay, signed_in: bool) -> list[dict]:
    """The map page's entries for the published overlays the reader may see (all for the logged-in, the public
    ones for everyone): image, bounds, legend (classes or a colour ramp)."""
    runs = _current_runs()
    out = []
    for name in ORDER:
        if name not in runs or not (signed_in or runs[name].get("public")):
            continue
        _png, _etag, bounds, (vmin, vmax) = overlay(name)
        style = overlay_style(name)
        suffix = " (SYNTHETIC)" if runs[name].get("synthetic") else ""
        entry = {"id": f"overlay-{name}", "image": url_for_overlay(name), "bounds": bounds,
                 "title": {lang: text(style["title"], lang) + suffix for lang in ("vi", "en")},
                 "run_id": runs[name]["run_id"], "opacity": 0.75}
        if style["classes"]:
            entry["legend"] = {"classes": [{"title": t, "color": c} for _v, t, c in style["classes"]]}
        else:
            entry["legend"] = {"ramp": style["ramp"], "min": vmin, "max": vmax, "unit": style["unit"]}
        if name in OFF_BY_DEFAULT:
            entry["visible"] = False
        out.append(entry)
    return out
