"""Karst and water security: sources per commune and per karst unit, and the dry-season water balance.

Per source (records with the same id are repeat measurements): the dry-season discharge is the
smallest dry-season measurement (the safe figure for supply), the wet-season one the mean of the
wet-season measurements. A seasonal or intermittent source gives nothing in the dry season unless
the balance config says to count it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml

from .. import STORE_CRS
from ..config import settings
from ..importers import read_features
from ..importers.tables import normalise_header, parse_number
from ..names import normalise_unit_name

SECONDS_PER_DAY = 86400


def balance_config_path() -> Path:
    return settings().definitions / "water" / "water_balance.yaml"


def load_balance_config(path: str | Path | None = None) -> dict:
    config = yaml.safe_load(Path(path or balance_config_path()).read_text(encoding="utf-8"))
    if not config.get("source"):
        raise ValueError("the water-balance config must name the source of its per-capita norm ('source')")
    return config


def per_source(sources: gpd.GeoDataFrame, *, count_seasonal: bool = False) -> gpd.GeoDataFrame:
    """One row per source with ``dry_ls`` and ``wet_ls`` (NaN when never measured in that season)."""
    frame = sources.to_crs(STORE_CRS)
    frame = frame.assign(_key=[i if i is not None else f"row{n}" for n, i in enumerate(frame["id"])])
    rows = []
    for key, grp in frame.groupby("_key", sort=False):
        first = grp.iloc[0]
        dry = grp.loc[grp["season"] == "dry", "discharge_ls"].dropna()
        wet = grp.loc[grp["season"] == "wet", "discharge_ls"].dropna()
        dry_ls = float(dry.min()) if len(dry) else np.nan
        if not count_seasonal and first.get("permanence") in ("seasonal", "intermittent"):
            dry_ls = 0.0
        rows.append({"id": first["id"], "name": first.get("name"), "kind": first["kind"], "dry_ls": dry_ls,
                     "wet_ls": float(wet.mean()) if len(wet) else np.nan, "geometry": first.geometry})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORE_CRS)


def summarise_by(sources: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, key: str, *,
                 count_seasonal: bool = False) -> gpd.GeoDataFrame:
    """Per polygon (2025 commune, karst unit): count of sources, dry- and wet-season discharge (L/s)."""
    per = per_source(sources, count_seasonal=count_seasonal)
    polys = polygons.to_crs(STORE_CRS)
    joined = gpd.sjoin(per, polys[[key, "geometry"]], how="inner", predicate="within")
    stats = joined.groupby(key).agg(
        n_sources=("id", "size"),
        dry_ls=("dry_ls", lambda s: float(s.sum(min_count=1)) if s.notna().any() else 0.0),
        wet_ls=("wet_ls", lambda s: float(s.sum(min_count=1)) if s.notna().any() else 0.0),
        n_without_dry=("dry_ls", lambda s: int(s.isna().sum())),
    )
    out = polys.merge(stats, left_on=key, right_index=True, how="left")
    out["n_sources"] = out["n_sources"].fillna(0).astype(int)
    out["n_without_dry"] = out["n_without_dry"].fillna(0).astype(int)
    out[["dry_ls", "wet_ls"]] = out[["dry_ls", "wet_ls"]].fillna(0.0)
    return out


def import_units(path, name_col: str | None = None, **options) -> gpd.GeoDataFrame:
    """Karst / lithology / aquifer polygons from the user, with a ``unit`` column naming each."""
    result = read_features(path, kind="polygon", **options)
    frame = result.frame
    if name_col is None:
        wanted = {"unit", "name", "ten", "don vi", "karst", "lithology", "thach hoc", "aquifer", "tang chua nuoc", "ky hieu"}
        name_col = next((c for c in frame.columns if normalise_header(c) in wanted), None)
    frame["unit"] = frame[name_col].astype(str) if name_col else [f"unit {i + 1}" for i in range(len(frame))]
    frame.attrs["messages"] = result.messages
    return frame


@dataclass
class Balance:
    frame: gpd.GeoDataFrame
    messages: list[str]
    norm_l_per_day: float
    norm_source: str


def read_population(path_or_frame) -> pd.DataFrame:
    """A population table: a commune code or name column and a population column (vi or en names)."""
    if isinstance(path_or_frame, pd.DataFrame):
        table = path_or_frame.copy()
    else:
        path = Path(path_or_frame)
        table = pd.read_excel(path, dtype=str) if path.suffix.lower() == ".xlsx" else pd.read_csv(
            path, dtype=str, sep=None, engine="python", encoding="utf-8-sig")
    roles = {}
    for col in table.columns:
        key = normalise_header(col)
        if key in {"code", "ma xa", "ma", "commune code", "ma dvhc"}:
            roles.setdefault("code", col)
        elif key in {"commune", "xa", "ten xa", "name", "ten", "full name", "xa phuong"}:
            roles.setdefault("name", col)
        elif key in {"population", "dan so", "so dan", "so nguoi", "pop"}:
            roles.setdefault("population", col)
    if "population" not in roles or not ({"code", "name"} & roles.keys()):
        raise ValueError("Bảng dân số cần cột mã xã hoặc tên xã và cột dân số. / The population table needs a "
                         f"commune code or name column and a population column; found {list(table.columns)}")
    out = pd.DataFrame({
        "code": table[roles["code"]].astype(str).str.strip().str.zfill(5) if "code" in roles else None,
        "name": table[roles["name"]].astype(str) if "name" in roles else None,
        "population": [parse_number(v) for v in table[roles["population"]]],
    })
    return out


def water_balance(sources: gpd.GeoDataFrame, population, communes: gpd.GeoDataFrame | None = None, *,
                  config: dict | str | Path | None = None, norm_l_per_day: float | None = None) -> Balance:
    """Dry-season supply of the sources in each 2025 commune against domestic demand.

    Demand (L/s) = population × norm (L/person/day) / 86 400. A commune is 'short' when supply <
    demand; 'no-population' when the table has no figure for it (it is not flagged as short).
    """
    if communes is None:
        from .. import layers

        communes = layers.read("communes")
    cfg = config if isinstance(config, dict) else load_balance_config(config)
    norm = float(norm_l_per_day if norm_l_per_day is not None else cfg["per_capita_l_per_day"])
    norm_source = "caller" if norm_l_per_day is not None else cfg["source"]
    summary = summarise_by(sources, communes[["code", "full_name", "name", "geometry"]], "code",
                           count_seasonal=bool(cfg.get("count_seasonal_sources", False)))
    pop = read_population(population)
    messages = []
    by_code = {}
    names = {normalise_unit_name(n): c for n, c in zip(communes["full_name"], communes["code"])}
    for rec in pop.itertuples():
        code = rec.code if isinstance(rec.code, str) and rec.code in set(communes["code"]) else None
        if code is None and isinstance(rec.name, str):
            code = names.get(normalise_unit_name(rec.name))
        if code is None:
            messages.append(f"Không khớp được xã '{rec.name or rec.code}' trong bảng dân số / "
                            f"commune '{rec.name or rec.code}' of the population table matches no 2025 commune")
            continue
        by_code[code] = (by_code.get(code) or 0) + (rec.population or 0)
    summary["population"] = summary["code"].map(by_code)
    summary["supply_dry_ls"] = summary.pop("dry_ls")
    summary["demand_ls"] = summary["population"] * norm / SECONDS_PER_DAY
    summary["balance_ls"] = summary["supply_dry_ls"] - summary["demand_ls"]
    summary["status"] = np.where(summary["population"].isna(), "no-population",
                                 np.where(summary["balance_ls"] < 0, "short", "ok"))
    summary["norm"] = f"{norm:g} L/người/ngày / L/person/day — {norm_source}"
    short = summary[summary["status"] == "short"]
    messages.append(f"{len(short)} xã thiếu nước mùa khô (định mức {norm:g} L/người/ngày, nguồn: {norm_source}) / "
                    f"{len(short)} communes short of water in the dry season (norm {norm:g} L/person/day, source: {norm_source})")
    return Balance(summary, messages, norm, norm_source)
