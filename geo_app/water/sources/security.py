"""Karst and water security: sources per commune and per karst unit, and the dry-season water balance.

Per source (records with the same id are repeat measurements): the dry-season discharge is the
smallest dry-season measurement (the safe figure for supply), the wet-season one the mean of the
wet-season measurements. A seasonal or intermittent source gives nothing in the dry season unless
the balance config says to count it.

Impossible values are left out, not refused: a discharge the QA marks impossible (negative; saved
with ``--accept-errors``) is not summed into any supply, and every summary says how many were left
out (``n_excluded``). A record without an id is kept under a key generated from its source file and
row (``inventory.source_keys``), and counted (``n_generated_ids``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml

from geo_app import STORE_CRS, layers
from geo_app.admin.names import normalise_unit_name
from geo_app.importers import read_features
from geo_app.importers.tables import normalise_header, parse_number
from geo_app.importers.text import num_en, num_vi
from geo_app.settings import settings
from geo_app.water.sources.inventory import impossible, source_keys

SECONDS_PER_DAY = 86400


def balance_config_path() -> Path:
    return settings().definitions / "water" / "water_balance.yaml"


def load_balance_config(path: str | Path | None = None) -> dict:
    path = Path(path or balance_config_path())
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not config.get("source"):
        raise ValueError("the water-balance config must name the source of its per-capita norm ('source')")
    check_norm(config.get("per_capita_l_per_day"), f"{path.name}: per_capita_l_per_day")
    return config


def check_norm(norm, where: str = "--norm") -> float:
    """The per-capita norm as a float; it must be a finite number > 0 (L/person/day)."""
    try:
        value = float(norm)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value <= 0:
        shown_vi = num_vi(value) if np.isfinite(value) else repr(norm)
        shown_en = num_en(value) if np.isfinite(value) else repr(norm)
        raise ValueError(f"Định mức cấp nước ({where}) = {shown_vi} không hợp lệ: phải là số dương (L/người/ngày). / "
                         f"The per-capita norm ({where}) = {shown_en} is invalid: it must be a positive number "
                         f"(L/person/day).")
    return value


#: status of a commune in the water balance: code → label (Vietnamese first)
STATUS_LABELS = {
    "short": "thiếu / short",
    "ok": "đủ / ok",
    "no-population": "chưa có số dân / no population",
}


def per_source(sources: gpd.GeoDataFrame, *, count_seasonal: bool = False) -> gpd.GeoDataFrame:
    """One row per source with ``dry_ls`` and ``wet_ls`` (NaN when never measured in that season).

    ``id`` is the source's id, or for a record without one a key generated from its file and row
    (``id_generated`` True). ``n_excluded``: measurements left out because their discharge is
    impossible (negative).
    """
    frame = sources.to_crs(STORE_CRS)
    keys, generated = source_keys(frame)
    bad = impossible(frame, "discharge_ls")
    discharge = pd.to_numeric(frame["discharge_ls"], errors="coerce").where(~bad)
    frame = frame.assign(_key=keys, _generated=generated, _bad=bad, _q=discharge.to_numpy())
    rows = []
    for key, grp in frame.groupby("_key", sort=False, dropna=False):
        first = grp.iloc[0]
        dry = grp.loc[grp["season"] == "dry", "_q"].dropna()
        wet = grp.loc[grp["season"] == "wet", "_q"].dropna()
        dry_ls = float(dry.min()) if len(dry) else np.nan
        if not count_seasonal and first.get("permanence") in ("seasonal", "intermittent"):
            dry_ls = 0.0
        rows.append({"id": key, "id_generated": bool(first["_generated"]), "name": first.get("name"),
                     "kind": first["kind"], "dry_ls": dry_ls, "wet_ls": float(wet.mean()) if len(wet) else np.nan,
                     "n_excluded": int(grp["_bad"].sum()), "geometry": first.geometry})
    columns = ["id", "id_generated", "name", "kind", "dry_ls", "wet_ls", "n_excluded", "geometry"]
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=STORE_CRS)


def summarise_by(sources: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, key: str, *,
                 count_seasonal: bool = False) -> gpd.GeoDataFrame:
    """Per polygon (2025 commune, karst unit): count of sources, dry- and wet-season discharge (L/s).

    Also ``n_without_dry`` (sources with no usable dry-season figure), ``n_excluded`` (impossible
    discharge values left out of the sums) and ``n_generated_ids`` (sources without an id, kept under
    a key from their file and row). ``attrs["messages"]`` says how many of each there were overall.
    """
    per = per_source(sources, count_seasonal=count_seasonal)
    polys = polygons.to_crs(STORE_CRS)
    joined = gpd.sjoin(per, polys[[key, "geometry"]], how="inner", predicate="within")
    stats = joined.groupby(key).agg(
        n_sources=("id", "size"),
        dry_ls=("dry_ls", lambda s: float(s.sum(min_count=1)) if s.notna().any() else 0.0),
        wet_ls=("wet_ls", lambda s: float(s.sum(min_count=1)) if s.notna().any() else 0.0),
        n_without_dry=("dry_ls", lambda s: int(s.isna().sum())),
        n_excluded=("n_excluded", "sum"),
        n_generated_ids=("id_generated", "sum"),
    )
    out = polys.merge(stats, left_on=key, right_index=True, how="left")
    for col in ("n_sources", "n_without_dry", "n_excluded", "n_generated_ids"):
        out[col] = out[col].fillna(0).astype(int)
    out[["dry_ls", "wet_ls"]] = out[["dry_ls", "wet_ls"]].fillna(0.0)
    out.attrs["messages"] = data_notes(per)
    return out


def data_notes(per: gpd.GeoDataFrame) -> list[str]:
    """What a summary left out or made up, in words (vi / en): impossible discharges excluded, ids generated."""
    notes = []
    excluded = int(per["n_excluded"].sum())
    if excluded:
        sources = int((per["n_excluded"] > 0).sum())
        notes.append(f"Bỏ {excluded} giá trị lưu lượng không thể có (âm) của {sources} nguồn khỏi tổng cung; sửa tệp nguồn "
                     f"rồi nhập lại. / Left {excluded} impossible (negative) discharge value{'s' if excluded != 1 else ''} "
                     f"of {sources} source{'s' if sources != 1 else ''} out of the supply; correct the source file "
                     f"and import it again.")
    generated = per[per["id_generated"]]
    if len(generated):
        shown = ", ".join(generated["id"].head(5))
        more = " …" if len(generated) > 5 else ""
        notes.append(f"{len(generated)} nguồn không có mã, được giữ với mã tạm theo tệp và dòng ({shown}{more}). / "
                     f"{len(generated)} source{'s' if len(generated) != 1 else ''} without an id kept under a temporary "
                     f"id from file and row ({shown}{more}).")
    return notes


def import_units(path, name_col: str | None = None, **options) -> gpd.GeoDataFrame:
    """Karst / lithology / aquifer polygons from the user, with a ``unit`` column naming each.

    ``name_col``: the field naming the unit (found by name when not given: unit, tên, karst,
    thạch học, tầng chứa nước...). A ``name_col`` the file does not have raises ``ValueError``
    naming the fields it has; a polygon with an empty name is called "(không tên) dòng N / (unnamed) row N".
    ``attrs["messages"]`` and ``attrs["repairs"]`` carry what the import said.
    """
    result = read_features(path, kind="polygon", **options)
    frame = result.frame
    fields = [c for c in frame.columns if c not in ("geometry", "source_file", "source_row", "source_layer")]
    if name_col is not None and name_col not in frame.columns:
        matches = [c for c in fields if normalise_header(c) == normalise_header(name_col)]
        if len(matches) != 1:
            raise ValueError(f"Tệp '{Path(path).name}' không có trường '{name_col}' (có: {', '.join(fields) or '—'}). / "
                             f"File '{Path(path).name}' has no field '{name_col}' (it has: {', '.join(fields) or '—'}).")
        name_col = matches[0]
    if name_col is None:
        wanted = {"unit", "name", "ten", "don vi", "karst", "lithology", "thach hoc", "aquifer", "tang chua nuoc", "ky hieu"}
        name_col = next((c for c in frame.columns if normalise_header(c) in wanted), None)
    rows = frame["source_row"].tolist() if "source_row" in frame else list(range(1, len(frame) + 1))
    if name_col:
        frame["unit"] = [str(v).strip() if v is not None and not (isinstance(v, float) and np.isnan(v)) and str(v).strip()
                         else f"(không tên) dòng {r} / (unnamed) row {r}" for v, r in zip(frame[name_col], rows)]
    else:
        frame["unit"] = [f"đơn vị {i + 1} / unit {i + 1}" for i in range(len(frame))]
    frame.attrs["messages"] = result.messages
    frame.attrs["repairs"] = [str(r) for r in result.repairs]
    frame.attrs["name_field"] = name_col
    return frame


@dataclass
class Balance:
    frame: gpd.GeoDataFrame
    messages: list[str]
    norm_l_per_day: float
    norm_source: str


def read_population(path_or_frame) -> pd.DataFrame:
    """A population table: a commune code or name column and a population column (vi or en names).

    Every population must be a number ≥ 0: otherwise ``ValueError`` names the file and each bad row
    (rows as a spreadsheet shows them: the header is row 1). A blank population is kept as None (the
    commune then has no figure), and listed in ``attrs["messages"]``.
    """
    if isinstance(path_or_frame, pd.DataFrame):
        table = path_or_frame.copy()
        where_vi, where_en = "bảng dân số", "the population table"
    else:
        path = Path(path_or_frame)
        table = pd.read_excel(path, dtype=str) if path.suffix.lower() == ".xlsx" else pd.read_csv(
            path, dtype=str, sep=None, engine="python", encoding="utf-8-sig")
        where_vi, where_en = f"tệp '{path.name}'", f"file '{path.name}'"
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
    population, problems, blanks = [], [], []
    column = roles["population"]
    for n, value in enumerate(table[column].tolist()):
        row = n + 2  # header on row 1
        try:
            parsed = parse_number(value)
        except (ValueError, TypeError):
            problems.append((f"{where_vi}, dòng {row}: {column} = '{value}' không phải là số",
                             f"{where_en}, row {row}: {column} = '{value}' is not a number"))
            parsed = None
        else:
            if parsed is None:
                blanks.append(row)
            elif not np.isfinite(parsed) or parsed < 0:
                problems.append((f"{where_vi}, dòng {row}: {column} = {num_vi(parsed)} không hợp lệ (phải ≥ 0)",
                                 f"{where_en}, row {row}: {column} = {num_en(parsed)} is invalid (must be ≥ 0)"))
        population.append(parsed)
    if problems:
        raise ValueError("Bảng dân số có giá trị không hợp lệ: / The population table has invalid values:\n" +
                         "\n".join(f"  {vi} / {en}" for vi, en in problems))
    out = pd.DataFrame({
        "code": table[roles["code"]].astype(str).str.strip().str.zfill(5) if "code" in roles else None,
        "name": table[roles["name"]].astype(str) if "name" in roles else None,
        "population": population,
    })
    out.attrs["messages"] = [
        f"{where_vi}, dòng {row}: thiếu số dân, xã này được ghi 'chưa có số dân' / "
        f"{where_en}, row {row}: no population, the commune is marked 'no population'" for row in blanks]
    return out


def water_balance(sources: gpd.GeoDataFrame, population, communes: gpd.GeoDataFrame | None = None, *,
                  config: dict | str | Path | None = None, norm_l_per_day: float | None = None) -> Balance:
    """Dry-season supply of the sources in each 2025 commune against domestic demand.

    Demand (L/s) = population × norm (L/person/day) / 86 400. ``status_code`` is 'short' when supply <
    demand, 'ok' otherwise, 'no-population' when the table has no figure for it (it is not flagged as
    short); ``status`` is the same in words, Vietnamese first (:data:`STATUS_LABELS`: "thiếu / short",
    "đủ / ok", "chưa có số dân / no population"). The norm must be > 0 and every population ≥ 0
    (``ValueError`` otherwise). Impossible discharges are left out of the supply and counted
    (``n_excluded``), sources without an id are kept (``n_generated_ids``); ``messages`` says both.
    """
    if communes is None:

        communes = layers.read("communes")
    cfg = config if isinstance(config, dict) else load_balance_config(config)
    if norm_l_per_day is not None:
        norm = check_norm(norm_l_per_day, "--norm / norm_l_per_day")
        norm_source = "người dùng chỉ định / given by the caller"
    else:
        norm = check_norm(cfg.get("per_capita_l_per_day"), "per_capita_l_per_day")
        norm_source = cfg["source"]
    pop = read_population(population)
    summary = summarise_by(sources, communes[["code", "full_name", "name", "geometry"]], "code",
                           count_seasonal=bool(cfg.get("count_seasonal_sources", False)))
    messages = list(pop.attrs.get("messages", [])) + list(summary.attrs.get("messages", []))
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
        if rec.population is None or rec.population != rec.population:
            continue  # blank: said in the table's messages; the commune keeps "no population"
        by_code[code] = (by_code.get(code) or 0) + rec.population
    summary["population"] = summary["code"].map(by_code)
    summary["supply_dry_ls"] = summary.pop("dry_ls")
    summary["demand_ls"] = summary["population"] * norm / SECONDS_PER_DAY
    summary["balance_ls"] = summary["supply_dry_ls"] - summary["demand_ls"]
    summary["status_code"] = np.where(summary["population"].isna(), "no-population",
                                      np.where(summary["balance_ls"] < 0, "short", "ok"))
    summary["status"] = summary["status_code"].map(STATUS_LABELS)
    summary["norm"] = f"{num_vi(norm)} L/người/ngày / {num_en(norm)} L/person/day — {norm_source}"
    short = summary[summary["status_code"] == "short"]
    n = len(short)
    source_vi, _, source_en = norm_source.partition(" / ")
    messages.append(f"{n} xã thiếu nước mùa khô (định mức {num_vi(norm)} L/người/ngày, nguồn: {source_vi}) / "
                    f"{n} commune{'s' if n != 1 else ''} short of water in the dry season "
                    f"(norm {num_en(norm)} L/person/day, source: {source_en or source_vi})")
    return Balance(summary, messages, norm, norm_source)
