"""``geo-app build``: sources → checks → the layer store in EPSG:9208 (GeoPackage, or PostGIS when
``GEO_APP_DATABASE_URL`` is set).

The build is a no-op when its fingerprint (pinned source hashes, layer definitions, build code and
software version) matches the one stored in the current store. Everything is written into a
temporary store first; the old store is replaced only when every check has passed.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from geo_app import STORE_CRS, __version__
from geo_app.build import admin, context
from geo_app.production.area import AdminLayers, production_areas_frame
from geo_app.production.products import load_products
from geo_app.settings import Settings
from geo_app.settings import settings as current_settings
from geo_app.store.layer_store import open_store
from geo_app.store.sources import fetch, registry
from geo_app.store.sources import fingerprint as source_fingerprint

log = logging.getLogger(__name__)

#: Communes may overlap by at most this fraction of the province area (the reference map has
#: ~10 km² of overlaps, 3.5 km² of them between Phường Lào Cai and its neighbour; see the build
#: report), and their union may differ from the province outline by at most UNION_TOLERANCE.
OVERLAP_TOLERANCE = 0.001
UNION_TOLERANCE = 0.005


@dataclass
class BuildResult:
    store: str
    built: bool
    fingerprint: str
    layers: dict[str, int] = field(default_factory=dict)
    repairs: list[dict] = field(default_factory=list)
    crosswalk_disagreements: int = 0
    report_dir: Path | None = None
    message: str = ""


def _definitions_digest(cfg: Settings) -> str:
    digest = hashlib.sha256()
    for path in sorted(cfg.definitions.rglob("*.yaml")):
        digest.update(str(path.relative_to(cfg.definitions)).encode())
        digest.update(path.read_bytes())
    # the code that turns sources into layers: a change to it rebuilds the store
    package = Path(__file__).parent.parent
    code = sorted(Path(__file__).parent.glob("*.py")) + [
        package / name
        for name in ("production/area.py", "production/products.py", "admin/names.py", "admin/legal_basis.py",
                     "store/layer_store.py")
    ]
    for path in code:
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build_fingerprint(cfg: Settings) -> str:
    payload = {
        "sources": source_fingerprint(list(registry(cfg)), cfg),
        "definitions": _definitions_digest(cfg),
        "version": __version__,
        "crs": STORE_CRS,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def build(cfg: Settings | None = None, force: bool = False, progress: bool = True) -> BuildResult:
    cfg = cfg or current_settings()
    fp = build_fingerprint(cfg)
    target = open_store(cfg)
    meta = target.meta()
    if not force and meta.get("fingerprint") == fp:
        return BuildResult(
            target.location, False, fp, layers=meta.get("layers", {}),
            message="Kho lớp đã cập nhật, không có gì để dựng lại. / The layer store is up to date; nothing to build.",
        )

    steps = tqdm(total=10, desc="geo-app build", unit="step", disable=not progress)

    def step(label: str):
        steps.set_postfix_str(label)

    step("sources")
    paths = {sid: fetch(sid, cfg) for sid in tqdm(list(registry(cfg)), desc="sources", leave=False, disable=not progress)}
    steps.update()

    repairs: list[admin.Repair] = []
    step("communes 2025")
    communes = admin.read_communes_2025(paths["vn-2025-wards"])
    communes = admin.to_store_crs(admin.repair_geometries(communes, "communes", "full_name", repairs))
    communes["area_ha"] = (communes.area / 1e4).round(2)
    steps.update()

    step("province")
    province = admin.to_store_crs(admin.read_province(paths["vn-2025-province"][0]))
    province = admin.repair_geometries(province, "province", "full_name", repairs)
    province["area_ha"] = (province.area / 1e4).round(2)
    steps.update()

    step("crosswalk")
    former_districts_table, former = admin.read_former_units(paths["vn-units-2025-03"][0])
    splits = admin.read_splits(paths["dvhcvn-splits-2025"][0])
    reference = admin.read_reference_merges(paths["sapnhap-reference"][0])
    disagreements = admin.compare_crosswalks(splits, reference)
    former_communes = admin.former_communes_table(former, splits, communes)
    communes = admin.attach_former_districts(communes, former_communes)
    steps.update()

    step("former districts")
    lao_cai_districts = former_districts_table[former_districts_table["former_province_code"] == "10"]
    former_districts = admin.to_store_crs(admin.read_former_districts(paths["dvhcvn-gis-10"][0], lao_cai_districts))
    former_districts = admin.repair_geometries(former_districts, "former-districts", "full_name", repairs)
    former_districts["area_ha"] = (former_districts.area / 1e4).round(2)
    steps.update()

    step("topology")
    topology = admin.check_topology(communes, province, OVERLAP_TOLERANCE, UNION_TOLERANCE)
    province = admin.province_from_communes(communes, province)
    province["area_ha"] = (province.area / 1e4).round(2)
    steps.update()

    step("context")
    rivers = context.read_rivers(paths["ne-rivers"][0], province)
    peaks = context.read_peaks(paths["ne-peaks"][0], province)
    neighbours = context.read_neighbours(paths["vn-2025-neighbours"])
    border = context.national_border(paths["ne-boundary-lines"][0], province, neighbours)
    towns = context.read_towns(paths["ne-populated-places"][0], province)
    steps.update()

    step("production areas")
    products = load_products()
    production_areas = production_areas_frame(
        products, AdminLayers(communes, former_communes, former_districts)
    )
    steps.update()

    column_order = [
        "code", "name", "full_name", "name_en", "full_name_en", "kind", "area_ha", "source_area_km2",
        "former_districts", "former_district_codes", "former_communes", "legal_basis", "geometry",
    ]
    layers = {
        "province": province,
        "communes": communes[column_order],
        "former-districts": former_districts,
        "former-communes": former_communes,
        "rivers": rivers,
        "peaks": peaks,
        "neighbour-provinces": neighbours,
        "national-border": border,
        "towns": towns,
        "production-areas": production_areas,
    }

    step("write store")
    report_dir = cfg.reports_dir
    with target.writing() as store:
        for layer_id, frame in layers.items():
            store.write_layer(layer_id, frame)
        store.write_meta(
            {
                "fingerprint": fp,
                "software_version": __version__,
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "crs": STORE_CRS,
                "sources": source_fingerprint(list(registry(cfg)), cfg),
                "layers": {k: int(len(v)) for k, v in layers.items()},
                "repairs": [asdict(r) for r in repairs],
                "topology": topology,
                "crosswalk_disagreements": disagreements.to_dict(orient="records"),
            }
        )
    steps.update()
    step("reports")
    report_dir.mkdir(parents=True, exist_ok=True)
    disagreements.to_csv(report_dir / "crosswalk-disagreements.csv", index=False)
    (report_dir / "build.json").write_text(
        json.dumps({"topology": topology, "repairs": [asdict(r) for r in repairs]}, ensure_ascii=False, indent=2),
        encoding="utf-8",
    )
    steps.update()
    steps.close()
    return BuildResult(
        target.location, True, fp,
        layers={k: int(len(v)) for k, v in layers.items()},
        repairs=[asdict(r) for r in repairs],
        # one disagreement = one old commune named differently by the two sources (two report rows)
        crosswalk_disagreements=int(disagreements.groupby("new_code")["key"].count().floordiv(2).sum()),
        report_dir=report_dir,
        message=f"Đã dựng kho lớp / Built the layer store {target.location}",
    )
