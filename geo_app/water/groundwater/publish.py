"""Groundwater results published into the user store, for the web map and the OGC API, with their provenance.

``geo-app groundwater … --publish`` puts the five potential classes into the user store as the vector layer
``groundwater-potential`` (one feature per class, each with the run's parameters) and keeps the index (and
``groundwater-level … --publish`` the level surface) as COG files the web map draws as image overlays.

A publication is made in this order, under a lock so that two never interleave: the run's files go into a folder
of their own (``published/groundwater/runs/<run id>/``, nothing points at it yet); the user store is replaced by one
rename; then ``published/groundwater/manifest.json`` is replaced by one rename, naming the current run of each kind
and keeping every earlier run's provenance in its history.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd

from geo_app import STORE_CRS
from geo_app.errors import InputError
from geo_app.io.files import write_atomic
from geo_app.settings import settings
from geo_app.water.groundwater import DistributionResult, PotentialResult
from geo_app.water.sources.user_store import write_user_layers

POTENTIAL_LAYER = "groundwater-potential"
#: kind of published result → the COG kept for its image overlay (the overlay kinds of layers/groundwater/overlays.yaml)
OVERLAYS = {"potential": {"potential-index": "potential_index.tif", "potential-class": "potential_class.tif"},
            "level": {"groundwater-level": "groundwater_level.tif", "groundwater-depth": "groundwater_depth.tif"}}


class PublishError(InputError):
    pass


@dataclass(frozen=True)
class PublishedRun:
    kind: str
    run_id: str
    run_at: str
    folder: Path
    overlays: dict
    previous: str | None
    synthetic: bool
    public: bool = False


def published_dir() -> Path:
    return settings().published_dir / "groundwater"


def manifest_path() -> Path:
    return published_dir() / "manifest.json"


def read_manifest() -> dict:
    """``{kind: {"current": run, "history": [earlier runs, newest first]}}``; empty when nothing is published."""
    path = manifest_path()
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


@contextmanager
def _locked():
    folder = published_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_id(provenance: dict) -> str:
    text = json.dumps(provenance, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _copy_overlays(kind: str, files: dict, folder: Path) -> dict:
    if not files:
        raise PublishError("Không có tệp kết quả để công bố: chạy lại với --out THƯ_MỤC. / No result files to "
                           "publish: run again with --out FOLDER.")
    overlays = {}
    for overlay, name in OVERLAYS[kind].items():
        source = files.get(name)
        if source is None or not Path(source).exists():
            continue
        shutil.copyfile(source, folder / name)
        overlays[overlay] = name
    return overlays


def _record(run_id: str, run_at: str, provenance: dict, overlays: dict, synthetic: bool, public: bool) -> dict:
    return {"run_id": run_id, "run_at": run_at, "folder": f"runs/{run_id}", "overlays": overlays,
            "synthetic": synthetic, "public": public, "provenance": provenance}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _publish(kind: str, provenance: dict, files: dict, synthetic: bool, public: bool, layers: dict | None,
             run_at: str) -> PublishedRun:
    run_id = _run_id(provenance)
    with _locked():
        folder = published_dir() / "runs" / run_id
        folder.mkdir(parents=True, exist_ok=True)
        overlays = _copy_overlays(kind, files, folder)
        if layers:
            write_user_layers(layers)
        manifest = read_manifest()
        entry = manifest.get(kind, {"current": None, "history": []})
        previous = entry.get("current")
        history = ([previous] if previous else []) + entry.get("history", [])
        manifest[kind] = {"current": _record(run_id, run_at, provenance, overlays, synthetic, public), "history": history}
        write_atomic(manifest_path(), json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True, default=str))
    return PublishedRun(kind, run_id, run_at, folder, overlays, previous["run_id"] if previous else None, synthetic,
                        public)


def class_layer(result: PotentialResult, run_id: str, run_at: str, synthetic: bool) -> gpd.GeoDataFrame:
    """The five classes as polygons (EPSG:9208; the run's own ``potential_classes.gpkg``), each with its area and
    the run's parameters."""
    path = (result.files or {}).get("potential_classes.gpkg")
    if path is None or not Path(path).exists():
        raise PublishError("Không có tệp potential_classes.gpkg để công bố: chạy lại với --out THƯ_MỤC. / No "
                           "potential_classes.gpkg to publish: run again with --out FOLDER.")
    frame = gpd.read_file(path, layer="potential_classes")
    if frame.empty:
        raise PublishError("Kết quả không có ô nào được phân lớp, không có gì để công bố. / The result has no "
                           "classified cell: nothing to publish.")
    prov = result.provenance
    frame = frame[["class", "class_name", "area_ha", "geometry"]].to_crs(STORE_CRS)
    return frame.assign(run_id=run_id, run_at=run_at, ahp_cr=round(float(prov["ahp"]["CR"]), 4),
                        class_method=prov["classes"].get("method_used", ""),
                        roc_auc=None if result.auc is None else round(float(result.auc), 4),
                        weights=", ".join(f"{k} {v:.3f}" for k, v in result.weights.items()),
                        synthetic=bool(synthetic))


def publish_potential(result: PotentialResult, synthetic: bool = False, public: bool = False) -> PublishedRun:
    """The potential classes into the user store (layer ``groundwater-potential``), the index and classes as
    overlays; the previous run's provenance is kept in the history. Logged-in users see them; ``public``: everyone."""
    run_at = _now()
    frame = class_layer(result, _run_id(result.provenance), run_at, synthetic)
    return _publish("potential", result.provenance, result.files, synthetic, public, {POTENTIAL_LAYER: frame}, run_at)


def publish_level(result: DistributionResult, synthetic: bool = False, public: bool = False) -> PublishedRun:
    """The level (and depth) surface as image overlays, with the run's provenance and cross-validation."""
    return _publish("level", result.provenance, result.files, synthetic, public, None, _now())
