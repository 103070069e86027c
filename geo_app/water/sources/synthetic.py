"""A small SYNTHETIC inventory, karst layer and population table, for tests and notebooks when no
real data is configured. Everything it makes says SYNTHETIC in its names so it cannot be mistaken
for survey data."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_app import STORE_CRS

LABEL = "SYNTHETIC"
#: the Mường Khương karst highlands (few seep springs, "mó", per the provincial water plan) and a few other communes
DEFAULT_COMMUNES = ("Xã Pha Long", "Xã Mường Khương", "Xã Bắc Hà", "Xã Bảo Yên", "Phường Sa Pa", "Xã Bát Xát")
_KINDS = ["mó", "suối hang", "giếng đào", "giếng khoan", "công trình thu"]


def _points_in(geom, n, rng):
    minx, miny, maxx, maxy = geom.bounds
    out = []
    while len(out) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if geom.contains(shapely.Point(x, y)):
            out.append((x, y))
    return out


def make_inventory(out: str | Path, communes: gpd.GeoDataFrame, *, names=DEFAULT_COMMUNES, per_commune: int = 6,
                   seed: int = 0, with_errors: bool = True) -> Path:
    """Write a SYNTHETIC inventory CSV (VN-2000 X = northing, Y = easting, Vietnamese headers).

    With ``with_errors`` it carries the faults the QA must find: a negative discharge, pH 15, a
    near-duplicate 4 m away, a row without coordinates and a point outside the province.
    """
    rng = np.random.default_rng(seed)
    chosen = communes[communes["full_name"].isin(names)].to_crs(STORE_CRS)
    rows = []
    for commune in chosen.itertuples():
        for x, y in _points_in(commune.geometry, per_commune, rng):
            n = len(rows) + 1
            kind = _KINDS[n % len(_KINDS)]
            dry = round(float(rng.gamma(1.5, 0.8)), 2)
            for season, date, q in (("mùa khô", "15/03/2024", dry), ("mùa mưa", "20/08/2024", round(dry * rng.uniform(2, 6), 2))):
                rows.append({
                    "Mã": f"SYN-{n:03d}", "Tên nguồn": f"{LABEL} {kind} {n} ({commune.name})", "Loại": kind,
                    "X": round(y, 2), "Y": round(x, 2), "Cao độ": round(float(rng.uniform(300, 1600)), 1),
                    "Tầng chứa nước": "đá vôi (karst)" if n % 3 else "phiến sét",
                    "Lưu lượng (L/s)": q, "Ngày đo": date, "Mùa": season,
                    "Chế độ": "theo mùa" if n % 7 == 0 else "thường xuyên",
                    "EC": round(float(rng.uniform(80, 600))), "pH": round(float(rng.uniform(6.5, 8.2)), 1),
                    "Nhiệt độ": round(float(rng.uniform(14, 22)), 1), "Mục đích": "sinh hoạt",
                    "Số dân": int(rng.integers(50, 800)), "Bảo vệ": "chưa có",
                })
    frame = pd.DataFrame(rows)
    if with_errors:
        bad = frame.iloc[[0, 2]].copy()
        bad["Mã"], bad["Tên nguồn"] = ["SYN-E01", "SYN-E02"], [f"{LABEL} lỗi lưu lượng âm", f"{LABEL} lỗi pH"]
        bad["Lưu lượng (L/s)"] = [-1.5, 0.4]
        bad["pH"] = [7.0, 15.0]
        bad["X"] = bad["X"] + 300
        near = frame.iloc[[4]].copy()
        near["Mã"], near["Tên nguồn"], near["X"] = "SYN-E03", f"{LABEL} trùng vị trí", near["X"] + 4
        nocoord = frame.iloc[[6]].copy()
        nocoord["Mã"], nocoord["X"], nocoord["Y"] = "SYN-E04", None, None
        outside = frame.iloc[[8]].copy()
        outside["Mã"], outside["X"], outside["Y"] = "SYN-E05", 2_300_000.0, 700_000.0
        frame = pd.concat([frame, bad, near, nocoord, outside], ignore_index=True)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False, encoding="utf-8")
    return out


def make_karst_units(out: str | Path, communes: gpd.GeoDataFrame, *, seed: int = 0) -> Path:
    """Write SYNTHETIC karst / non-karst polygons (GeoPackage, EPSG:9208) over the province."""
    province = shapely.union_all(communes.to_crs(STORE_CRS).geometry.values)
    karst_core = communes[communes["full_name"].isin(["Xã Pha Long", "Xã Mường Khương", "Xã Bắc Hà"])].to_crs(STORE_CRS)
    karst = shapely.union_all(karst_core.geometry.values).buffer(6000).intersection(province)
    other = province.difference(karst)
    frame = gpd.GeoDataFrame({"unit": [f"{LABEL} karst (đá vôi)", f"{LABEL} không karst"]},
                             geometry=[karst, other], crs=STORE_CRS)
    out = Path(out)
    frame.to_file(out, driver="GPKG")
    return out


def make_population(out: str | Path, communes: gpd.GeoDataFrame, *, names=DEFAULT_COMMUNES, seed: int = 0) -> Path:
    """Write a SYNTHETIC population table (commune code, name, population)."""
    rng = np.random.default_rng(seed)
    chosen = communes[communes["full_name"].isin(names)]
    frame = pd.DataFrame({"Mã xã": chosen["code"].values, "Tên xã": chosen["full_name"].values,
                          "Dân số": rng.integers(4000, 40000, len(chosen))})
    frame["Ghi chú"] = LABEL
    out = Path(out)
    frame.to_csv(out, index=False, encoding="utf-8")
    return out
