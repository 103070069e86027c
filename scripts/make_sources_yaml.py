"""Regenerate the file lists of layers/sources.yaml from a mirror's MANIFEST.tsv.

Usage: python scripts/make_sources_yaml.py ../shared/data/mirror/MANIFEST.tsv > layers/sources.yaml

Only the pins (url, sha256, size) come from the manifest; titles, licences and attributions are
written here by hand because they are judgements about the sources, not facts in the manifest.
"""
from __future__ import annotations

import csv
import sys

import yaml

GROUPS = {
    "vn-2025-province": {
        "match": "json/geojson/15_lao_cai/15_lao_cai.geojson",
        "title": "Tỉnh Lào Cai sau 01/07/2025 (đã đơn giản hoá) / Lào Cai province after 1 July 2025 (simplified)",
        "licence": "MIT",
        "attribution": "thanglequoc/vietnamese-provinces-database (MIT); geometry from the government reference map sapnhap.bando.com.vn",
    },
    "vn-2025-wards": {
        "match": "json/geojson/15_lao_cai/wards/",
        "title": "99 xã, phường của tỉnh Lào Cai từ 01/07/2025 / The 99 communes and wards of Lào Cai from 1 July 2025",
        "licence": "MIT",
        "attribution": "thanglequoc/vietnamese-provinces-database (MIT); geometry from the government reference map sapnhap.bando.com.vn",
    },
    "sapnhap-reference": {
        "match": "sapnhapbando_geo_objects.sql",
        "title": "Bản đồ sáp nhập: danh sách đơn vị trước sáp nhập / Reference map objects with the units merged into each new unit",
        "licence": "MIT",
        "attribution": "thanglequoc/vietnamese-provinces-database (MIT); text from sapnhap.bando.com.vn",
    },
    "vn-units-2025-03": {
        "match": "simplified_json_generated_data_vn_units.json",
        "title": "Đơn vị hành chính Việt Nam tháng 3/2025 (trước sắp xếp) / Administrative units of Vietnam, March 2025 (before the reform)",
        "licence": "MIT",
        "attribution": "thanglequoc/vietnamese-provinces-database (MIT); codes of the General Statistics Office",
    },
    "dvhcvn-splits-2025": {
        "match": "mapping/splits.json",
        "title": "Ánh xạ xã cũ → xã mới theo các nghị quyết 1654–1687/NQ-UBTVQH15 / Old → new commune mapping",
        "licence": "MIT",
        "attribution": "dvhcvn/20250701 (MIT); Lào Cai: NQ 1673/NQ-UBTVQH15 of 16/06/2025",
    },
    "dvhcvn-gis-10": {
        "match": "data/gis/10.json",
        "title": "Ranh giới huyện cũ của tỉnh Lào Cai (2019) / Former districts of old Lào Cai (2019)",
        "licence": "GPL-3.0 (data; used as external input, not redistributed)",
        "attribution": "daohoangson/dvhcvn (GPL-3.0), data from gis.chinhphu.vn",
    },
    "ne-rivers": {
        "match": "ne_10m_rivers_lake_centerlines.7z",
        "title": "Natural Earth 1:10m sông / rivers and lake centerlines",
        "licence": "Public domain (Natural Earth); conversion CC0",
        "attribution": "Made with Natural Earth; GeoJSON by martynafford/natural-earth-geojson",
    },
    "ne-peaks": {
        "match": "ne_10m_geography_regions_elevation_points.json",
        "title": "Natural Earth 1:10m đỉnh núi / named elevation points",
        "licence": "Public domain (Natural Earth); conversion CC0",
        "attribution": "Made with Natural Earth; GeoJSON by martynafford/natural-earth-geojson",
    },
    "vn-2025-neighbours": {
        "match": ("json/geojson/08_tuyen_quang/", "json/geojson/12_lai_chau/", "json/geojson/14_son_la/",
                  "json/geojson/25_phu_tho/"),
        "title": "Các tỉnh giáp Lào Cai từ 01/07/2025 (đã đơn giản hoá) / The provinces bordering Lào Cai from 1 July 2025 (simplified)",
        "licence": "MIT",
        "attribution": "thanglequoc/vietnamese-provinces-database (MIT); geometry from the government reference map sapnhap.bando.com.vn",
    },
    "ne-boundary-lines": {
        "match": "ne_10m_admin_0_boundary_lines_land.json",
        "title": "Natural Earth 1:10m đường biên giới trên đất liền / admin-0 land boundary lines",
        "licence": "Public domain (Natural Earth); conversion CC0",
        "attribution": "Made with Natural Earth; GeoJSON by martynafford/natural-earth-geojson",
    },
    "ne-populated-places": {
        "match": "ne_10m_populated_places_simple.7z",
        "title": "Natural Earth 1:10m điểm dân cư / populated places",
        "licence": "Public domain (Natural Earth); conversion CC0",
        "attribution": "Made with Natural Earth; GeoJSON by martynafford/natural-earth-geojson",
    },
}


def main(manifest: str) -> None:
    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    out = {}
    for source_id, group in GROUPS.items():
        files = [
            {"url": r["upstream_url"], "sha256": r["sha256"], "size": int(r["bytes"])}
            for r in rows
            if any(m in r["path"] for m in ((group["match"],) if isinstance(group["match"], str) else group["match"]))
        ]
        files.sort(key=lambda f: f["url"])
        if not files:
            sys.exit(f"no file in {manifest} matches {group['match']!r}")
        meta = {k: v for k, v in group.items() if k != "match"}
        out[source_id] = {**meta, "files": files}
    print("# Pinned public sources. Generated by scripts/make_sources_yaml.py; the pins are the truth.")
    print(yaml.safe_dump({"sources": out}, allow_unicode=True, sort_keys=False, width=200), end="")


if __name__ == "__main__":
    main(sys.argv[1])
