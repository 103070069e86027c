"""``make_dossier``: the map sheet, its annex and the data files of one product, as one package.

The package is written in a temporary folder beside ``out_dir`` and moved into place with a
rename, so a failure leaves nothing half-written. Every byte depends only on the inputs (product
definition and its files, the layer store, the parameters and the software versions): no clock,
no random, no hash-ordered iteration.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import matplotlib
import pandas as pd
import pyogrio
import shapely

from geo_app import STORE_CRS, __version__, layers
from geo_app.errors import InputError
from geo_app.io.files import atomic_folder, sha256_bytes, sha256_file
from geo_app.production.area import AdminLayers, resolve
from geo_app.production.dossier import exports, layout
from geo_app.production.dossier.content import (
    annex_rows,
    former_district_outlines,
    product_people,
    read_context,
    source_names,
    unresolved_message,
)
from geo_app.production.dossier.points import as_boundary_points, freeze_boundary
from geo_app.production.products import Product, get_product
from geo_app.production.validation import check
from geo_app.settings import settings
from geo_app.store.layer_store import open_store

DEFAULT_AGENCY = "Sở Khoa học và Công nghệ tỉnh Lào Cai"
DEFAULT_GOVERNING = "Ủy ban nhân dân tỉnh Lào Cai"
#: Layers the dossier reads; the manifest records the hashes of their sources.
LAYERS_USED = ("communes", "former-communes", "former-districts", "province", "rivers")
#: Context layers drawn when the store has them.
CONTEXT_LAYERS = ("neighbour-provinces", "national-border", "towns")

SHEET = "sheet.pdf"
MANIFEST = "manifest.json"
GPKG = "production-area.gpkg"
SHP_ZIP = "production-area-shp.zip"
KML = "production-area.kml"
GEOJSON = "production-area.geojson"
POINTS_CSV = "boundary-points.csv"
COMMUNES_CSV = "communes.csv"
#: Files whose hashes make the package hash printed on the sheet (the sheet cannot hash itself).
DATA_FILES = (GPKG, SHP_ZIP, KML, GEOJSON, POINTS_CSV, COMMUNES_CSV)


class DossierError(InputError):
    """The dossier cannot be made; the message says why and what is missing."""


@dataclass
class DossierResult:
    out_dir: Path
    dossier_id: str
    product_id: str
    paper: str
    scale: int
    package_hash: str
    files: dict[str, str]  # name → sha256, every file but the manifest
    manifest: dict
    area_ha: float
    perimeter_m: float

    @property
    def sheet(self) -> Path:
        return self.out_dir / SHEET


def _product_hashes(product: Product) -> dict:
    if product.path is not None:
        definition = sha256_file(product.path)
    else:  # built in code, not from a file: hash its fields in a fixed order
        definition = sha256_bytes(json.dumps(product.__dict__, sort_keys=True, default=str).encode())
    files = {}
    for path in (*product.area.files, product.area.former_commune_boundaries):
        if path is not None:
            files[Path(path).name] = sha256_file(Path(path))
    return {"definition_sha256": definition, "files": dict(sorted(files.items()))}


def _used_sources(meta: dict) -> dict:
    known = {info.id for info in layers.list()} & set(meta.get("layers", {}) or LAYERS_USED)
    used = [layer_id for layer_id in (*LAYERS_USED, *CONTEXT_LAYERS) if layer_id in known]
    ids = sorted({s for layer_id in used for s in layers.info(layer_id).sources})
    stored = meta.get("sources", {})
    return {sid: stored.get(sid) for sid in ids}


@contextmanager
def _staging(out_dir: Path):
    """A temporary folder beside ``out_dir``; on success it replaces ``out_dir`` by renames."""
    out_dir = out_dir.resolve()
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).exists():
        raise DossierError(
            f"{out_dir} đã có tệp khác, không phải hồ sơ cũ; chọn thư mục trống. / "
            f"{out_dir} holds other files and is not a previous dossier: choose an empty or new folder."
        )
    with atomic_folder(out_dir) as tmp:
        yield tmp


def make_dossier(
    product: str | Product,
    out_dir: str | os.PathLike,
    paper: str = "A3",
    scale: int | None = None,
    date: str | dt.date | None = None,
    agency: str = DEFAULT_AGENCY,
    governing: str = DEFAULT_GOVERNING,
    admin: AdminLayers | None = None,
    boundary=None,
) -> DossierResult:
    """Make the dossier of ``product`` in ``out_dir`` (created or replaced as a whole).

    ``scale`` is a denominator (50000 for 1:50 000); by default the largest of the standard series
    at which the area fits the paper's map frame (landscape or portrait). ``date`` defaults to the
    day the layer store was built, so the same store gives the same sheet.

    ``boundary`` is a version's frozen boundary (attributes ``geometry`` in EPSG:9208, ``points``
    as ``boundary_points(...).table``, ``sha256``, ``area_ha``, ``perimeter_m``): when given, the
    dossier draws and lists exactly that and does not resolve the definition again (the version
    was checked when it was frozen). Without it the definition is resolved, checked and frozen here
    with ``freeze_boundary``.
    """
    # Options that need no data are refused before anything is read.
    sheet_paper = layout.check_options(paper, scale)
    product = get_product(product) if isinstance(product, str) else product
    admin = admin or AdminLayers.from_store()
    notes: tuple[str, ...] = ()
    if boundary is None:
        resolved = resolve(product, admin)
        if not resolved.is_complete:
            raise DossierError(unresolved_message(product, resolved, admin))
        frozen = freeze_boundary(resolved.geometry)
        notes = frozen.notes
    else:
        resolved = None
        frozen = boundary
        notes = tuple(getattr(boundary, "notes", ()) or ())
    geometry = frozen.geometry
    bp = as_boundary_points(frozen)
    area_ha, perimeter_m = float(frozen.area_ha), float(frozen.perimeter_m)
    bounds = geometry.bounds
    # The paper and scale are settled before the (slower) check, so a refused option answers at once.
    chosen = "auto" if scale is None else "given"
    if scale is None:
        scale, sheet_paper = layout.choose_scale(bounds, sheet_paper)
    else:
        scale = int(scale)
        sheet_paper = layout.check_scale(scale, bounds, sheet_paper)
    extent = layout.map_extent(bounds, sheet_paper, scale)
    if resolved is not None:
        # Errors of the check (invalid geometry, land outside the province) block the dossier; overlap
        # with other products is only a warning, so other products need not be resolved here.
        report = check(product, admin, others={}, resolved=resolved)
        if not report.ok:
            errors = "\n".join(f"  - {f.message}" for f in report.findings if f.level == "error")
            raise DossierError(
                f"Không lập được hồ sơ '{product.id}': kiểm tra có lỗi. / Cannot make the dossier of '{product.id}': "
                f"the check found errors (run `geo-app check {product.id}`).\n{errors}"
            )

    cfg = settings()
    meta = open_store(cfg).meta()
    if date is None:
        date = str(meta.get("built_at", "2000-01-01"))[:10]
    date_iso = date.isoformat() if isinstance(date, dt.date) else str(date)
    dt.date.fromisoformat(date_iso)  # a malformed date fails here, before anything is written
    y, m, d = date_iso.split("-")
    date_vi = f"{d}/{m}/{y}"

    people = product_people(product)
    hashes = _product_hashes(product)
    sources = _used_sources(meta)
    versions = {"geo_app": __version__, "matplotlib": matplotlib.__version__, "gdal": pyogrio.__gdal_version_string__,
                "shapely": shapely.__version__}
    graticule = layout.graticule_minutes_for(scale, extent)
    parameters = {
        "paper": sheet_paper.name, "orientation": sheet_paper.orientation, "scale": scale, "scale_choice": chosen,
        "date": date_iso, "agency": agency, "governing": governing,
    }
    inputs = {"product_id": product.id, "product": hashes, "store_fingerprint": meta.get("fingerprint"),
              "sources": sources, "parameters": parameters, "software": versions, "boundary_sha256": frozen.sha256}
    inputs_hash = sha256_bytes(json.dumps(inputs, sort_keys=True, ensure_ascii=False).encode())
    dossier_id = f"HS-{product.id}-{inputs_hash[:8]}"

    communes_table = annex_rows(product, geometry, admin)
    districts = former_district_outlines(admin)
    context = read_context(meta.get("layers", {}))

    with _staging(Path(out_dir)) as tmp:
        work = Path(tempfile.mkdtemp(prefix="work-", dir=tmp))
        _write_data(tmp, work, product, geometry, bp, communes_table, dossier_id, date_iso, area_ha, perimeter_m)
        shutil.rmtree(work)
        file_hashes = {name: sha256_file(tmp / name) for name in DATA_FILES}
        package_hash = sha256_bytes("".join(f"{file_hashes[n]}  {n}\n" for n in DATA_FILES).encode())

        from geo_app.production.dossier.annex import render_annex
        from geo_app.production.dossier.pdf import write_pdf
        from geo_app.production.dossier.sheet import SheetData, render_sheet

        sheet_data = SheetData(
            product=product, geometry=geometry, paper=sheet_paper, scale=scale, extent=extent,
            communes=admin.communes, former_districts=districts, province=layers.read("province"),
            rivers=layers.read("rivers"), points=bp, area_ha=area_ha, perimeter_m=perimeter_m, date_vi=date_vi,
            agency=agency, governing=governing, dossier_id=dossier_id, package_hash=package_hash,
            sources=source_names(), is_draft=product.status == "draft", graticule_minutes=graticule,
            owner=people["owner"], applicant=people["applicant"], boundary_sha256=frozen.sha256,
            notes=list(notes), context=context,
        )
        write_pdf(tmp / SHEET, sheet_data, render_sheet, render_annex, communes_table, date_iso)
        file_hashes[SHEET] = sha256_file(tmp / SHEET)

        manifest = {
            "format": "geo-app-dossier/1",
            "dossier_id": dossier_id,
            "product": {"id": product.id, "name": product.name, "status": product.status, "mark_kind": product.mark_kind,
                        **hashes},
            "parameters": {
                **parameters,
                "crs": STORE_CRS,
                "map_extent_m": list(extent),
                "map_frame_mm": [sheet_paper.frame_x0, sheet_paper.frame_y0, sheet_paper.frame_w, sheet_paper.frame_h],
                "paper_mm": [sheet_paper.width_mm, sheet_paper.height_mm],
                "grid_interval_m": layout.grid_interval_m(scale),
                "graticule_minutes": graticule,
                "boundary_point_tolerance_m": bp.tolerance_m,
            },
            "area": {"area_ha": round(area_ha, 4), "perimeter_m": round(perimeter_m, 2),
                     "boundary_points": int(len(bp.table)), "crs": STORE_CRS, "boundary_sha256": frozen.sha256,
                     "notes": list(notes)},
            "sources": sources,
            "store": {"fingerprint": meta.get("fingerprint"), "built_at": meta.get("built_at")},
            "software": versions,
            "software_version": __version__,
            "inputs_sha256": inputs_hash,
            "package_sha256": package_hash,
            "package_sha256_covers": list(DATA_FILES),
            "files": dict(sorted(file_hashes.items())),
        }
        (tmp / MANIFEST).write_bytes(
            (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
        )
    return DossierResult(Path(out_dir).resolve(), dossier_id, product.id, sheet_paper.name, scale, package_hash,
                         dict(sorted(file_hashes.items())), manifest, area_ha, perimeter_m)


def _write_data(tmp: Path, work: Path, product: Product, geometry, bp, former_rows: pd.DataFrame, dossier_id: str,
                date_iso: str, area_ha: float, perimeter_m: float) -> None:
    attrs = {
        "Name": [product.name["vi"]],
        "Description": [f"{product.name['en']} · {dossier_id} · {product.status}"],
        "product_id": [product.id],
        "name_en": [product.name["en"]],
        "mark_kind": [product.mark_kind],
        "status": [product.status],
        "area_ha": [round(area_ha, 4)],
        "perim_m": [round(perimeter_m, 2)],
        "dossier_id": [dossier_id],
        "date": [date_iso],
    }
    area = gpd.GeoDataFrame(attrs, geometry=[geometry], crs=STORE_CRS)
    pts = bp.table
    points = gpd.GeoDataFrame(pts.copy(), geometry=gpd.points_from_xy(pts["y_east"], pts["x_north"]), crs=STORE_CRS)
    wgs = exports.to_wgs84(points)
    exports.write_gpkg(tmp / GPKG, area, points, date_iso)
    exports.write_shapefile_zip(tmp / SHP_ZIP, area.drop(columns=["Description"]), points, "production-area",
                                "boundary-points", date_iso, work)
    area_wgs84 = exports.to_wgs84(area)
    exports.write_kml(tmp / KML, area_wgs84)
    exports.write_geojson(tmp / GEOJSON, area_wgs84)
    csv_points = pts.assign(lon_wgs84=wgs.geometry.x.round(7), lat_wgs84=wgs.geometry.y.round(7))
    exports.write_csv(tmp / POINTS_CSV, csv_points)
    exports.write_csv(tmp / COMMUNES_CSV, former_rows)
