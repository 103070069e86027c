"""Sanitary protection zones around water sources, by the rules in layers/water/protection_zones.yaml."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml

from geo_app import STORE_CRS
from geo_app.settings import settings
from geo_app.water.sources.inventory import impossible, source_keys

#: L/s → m³/day
M3_PER_DAY_PER_LS = 86.4


def rules_path() -> Path:
    return settings().definitions / "water" / "protection_zones.yaml"


def load_rules(path: str | Path | None = None) -> dict:
    config = yaml.safe_load(Path(path or rules_path()).read_text(encoding="utf-8"))
    for rule in config["rules"]:
        if not rule.get("regulation"):
            raise ValueError(f"protection-zone rule '{rule.get('id')}' names no regulation; every rule must")
    return config


def _radius(rule: dict, discharge_ls: float | None) -> float:
    classes = rule.get("by_discharge_m3_per_day")
    if classes and discharge_ls is not None and not np.isnan(discharge_ls):
        m3 = discharge_ls * M3_PER_DAY_PER_LS
        for cls in classes:
            if m3 < float(cls["below"]):
                return float(cls["radius_m"])
    return float(rule["radius_m"])


def protection_zones(sources: gpd.GeoDataFrame, rules: dict | str | Path | None = None) -> gpd.GeoDataFrame:
    """One zone per source whose kind a rule covers, carrying the rule, radius, regulation and status.

    A source measured several times (same id) gets one zone, sized by its largest discharge; an
    impossible (negative) discharge is ignored. A source without an id gets its zone too, under a key
    from its file and row (``source_id`` "nguon_nuoc.csv#12", ``id_generated`` True).
    """
    config = rules if isinstance(rules, dict) else load_rules(rules)
    by_kind = {kind: rule for rule in config["rules"] for kind in rule["kinds"]}
    frame = sources.to_crs(STORE_CRS)
    keys, generated = source_keys(frame)
    discharge_ok = pd.to_numeric(frame["discharge_ls"], errors="coerce").where(~impossible(frame, "discharge_ls"))
    frame = frame.assign(_key=keys, _generated=generated, _q=discharge_ok.to_numpy())
    rows = []
    for key, grp in frame.groupby("_key", sort=False, dropna=False):
        rec = grp.iloc[0]
        rule = by_kind.get(rec["kind"])
        if rule is None:
            continue
        discharge = grp["_q"].max() if grp["_q"].notna().any() else None
        radius = _radius(rule, discharge)
        rows.append({
            "source_id": key, "id_generated": bool(rec["_generated"]), "name": rec.get("name"), "kind": rec["kind"],
            "rule": rule["id"],
            "radius_m": radius, "regulation": rule["regulation"],
            "status": rule.get("status", config.get("status", "open")),
            "geometry": rec.geometry.buffer(radius, quad_segs=16),
        })
    columns = ["source_id", "id_generated", "name", "kind", "rule", "radius_m", "regulation", "status", "geometry"]
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=STORE_CRS)
