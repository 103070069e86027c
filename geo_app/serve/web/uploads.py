"""The upload form's files and choices → one checked polygon file for the workflow.

An officer sends one file (GeoPackage, GeoJSON, KML/KMZ, GPX, CSV, XLSX, a zipped shapefile) or the
parts of one shapefile at once (.shp, .shx, .dbf, .prj, .cpg), with a CRS choice, a layer, and
whether to clip to the province or read points as the boundary. The files are written under their
own (cleaned) names into a private temporary folder, read by ``geo_app.importers.read_features``
with those choices — so every message names the officer's file, as on the command line — and
removed again. What the workflow stores is the result in EPSG:9208 as GeoJSON text (deterministic:
the same upload gives the same bytes), carrying the original file names and their sha256, so that
reading it again later needs no choice.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import shapely

from geo_app.errors import InputError
from geo_app.importers import FORMATS, ImportFailed, original_names, read_features

#: The parts of one shapefile that may be sent as separate files.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
#: The CRS choices of the form (value → ``crs=`` of read_features); "EPSG" takes the code typed beside it.
CRS_CHOICES = {"auto": None, "VN2000_TM3": "VN2000_TM3", "VN2000_6DEG": "VN2000_6DEG", "WGS84": "WGS84", "EPSG": "EPSG"}
#: At most this many files in one upload.
MAX_FILES = 8
_EPSG = re.compile(r"^(?:EPSG:)?(\d{4,6})$", re.IGNORECASE)


class UploadRefused(InputError):
    """The upload cannot be used. ``errors``: one short message per problem, each naming the file
    and what to do (Vietnamese / English); ``choices``: layer names to choose from, when the file
    holds several. The message starts with the form field, ``file``."""

    status = 400

    def __init__(self, errors: list[str], choices: list[str] | None = None):
        self.errors, self.choices = errors, list(choices or [])
        super().__init__("file: " + "\n".join(errors))


@dataclass
class UploadChoice:
    """What the officer chose on the form beside the files."""

    crs: str = "auto"
    epsg: str = ""
    layer: str = ""
    clip: bool = False
    boundary_points: bool = False

    @classmethod
    def from_form(cls, form) -> UploadChoice:
        crs = form.get("crs", "auto") or "auto"
        return cls(crs=crs if crs in CRS_CHOICES else "auto", epsg=(form.get("crs_epsg") or "").strip()[:20],
                   layer=(form.get("layer") or "").strip()[:200], clip=form.get("clip") == "1",
                   boundary_points=form.get("boundary_points") == "1")

    def crs_value(self) -> str | None:
        if self.crs != "EPSG":
            return CRS_CHOICES[self.crs]
        match = _EPSG.match(self.epsg)
        if not match:
            raise UploadRefused([f"mã EPSG '{self.epsg or '—'}' không hợp lệ: nhập một số như 9208 hoặc EPSG:3405 / "
                                 f"the EPSG code '{self.epsg or '—'}' is not valid: type a number such as 9208 or EPSG:3405"])
        return f"EPSG:{match.group(1)}"


@dataclass
class PreparedUpload:
    """A checked upload: the file names as sent, the GeoJSON the workflow stores, what the import said."""

    names: list[str]
    stored_name: str
    data: bytes
    messages: list[str] = field(default_factory=list)
    area_ha: float = 0.0

    def as_upload(self):
        """``(file name, binary stream)`` as ``workflow.save_draft`` takes it."""
        import io

        return self.stored_name, io.BytesIO(self.data)


def clean_name(filename: str | None) -> str:
    """The user's file name without any folder, control characters or leading dots, NFC-normalised."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    name = unicodedata.normalize("NFC", "".join(c for c in name if c.isprintable() and c not in "/\\:*?\"<>|"))
    name = name.lstrip(". ").strip()[:120]
    return name


def _group(files) -> tuple[list[tuple[str, object]], str]:
    """(name, storage) of each file and the name of the one to read; refuses what does not belong together.
    One file of another format goes to the importer, which refuses it in the same words as everywhere."""
    sent = [(clean_name(f.filename), f) for f in files if f is not None and f.filename]
    if len(sent) > MAX_FILES:
        raise UploadRefused([f"gửi {len(sent)} tệp, tối đa {MAX_FILES} / {len(sent)} files sent, at most {MAX_FILES}"])
    errors = []
    for name, _ in sent:
        suffix = Path(name).suffix.lower()
        if not name:
            errors.append("một tệp không có tên / a file has no name")
        elif len(sent) > 1 and suffix not in FORMATS and suffix not in SHAPEFILE_PARTS:
            errors.append(f"tệp '{name}': định dạng '{suffix or '—'}' không hỗ trợ; gửi GeoPackage, GeoJSON, KML/KMZ, GPX, "
                          f"CSV, XLSX, Shapefile (.zip hoặc các phần .shp/.shx/.dbf/.prj/.cpg) / file '{name}': format "
                          f"'{suffix or '—'}' is not supported; send GeoPackage, GeoJSON, KML/KMZ, GPX, CSV, XLSX or a "
                          "shapefile (zipped, or its .shp/.shx/.dbf/.prj/.cpg parts)")
    if errors:
        raise UploadRefused(errors)
    if len(sent) == 1:
        name = sent[0][0]
        if Path(name).suffix.lower() in SHAPEFILE_PARTS and Path(name).suffix.lower() != ".shp":
            raise UploadRefused([f"tệp '{name}' chỉ là một phần của Shapefile; chọn cùng lúc các tệp .shp, .shx, .dbf (và .prj, "
                                 f".cpg) hoặc gửi một tệp .zip / file '{name}' is only one part of a shapefile; select its "
                                 ".shp, .shx, .dbf (and .prj, .cpg) together, or send one .zip"])
        return sent, name
    stems = {Path(n).stem.lower() for n, _ in sent}
    not_parts = [n for n, _ in sent if Path(n).suffix.lower() not in SHAPEFILE_PARTS]
    if not_parts or len(stems) > 1:
        odd = not_parts or sorted(n for n, _ in sent)
        raise UploadRefused([f"tệp '{n}': chỉ gửi nhiều tệp cùng lúc cho các phần của một Shapefile (cùng tên, khác đuôi); "
                             f"gửi từng tệp khác riêng / file '{n}': several files at once are only for the parts of one "
                             "shapefile (one name, different extensions); send other files one at a time" for n in odd])
    suffixes = [Path(n).suffix.lower() for n, _ in sent]
    if len(set(suffixes)) != len(suffixes):
        raise UploadRefused(["có hai tệp cùng đuôi cho một Shapefile / two files with the same extension for one shapefile"])
    shp = [n for n, _ in sent if Path(n).suffix.lower() == ".shp"]
    if not shp:
        raise UploadRefused([f"thiếu tệp .shp trong các tệp đã gửi ({', '.join(n for n, _ in sent)}) / no .shp among the "
                             f"files sent ({', '.join(n for n, _ in sent)})"])
    return sent, shp[0]


def _public(text: str, folder: str) -> str:
    """An importer's message as the user should read it: no server folder."""
    return text.replace(folder + "/", "").replace(folder, "…")


def prepare(files, choice: UploadChoice) -> PreparedUpload | None:
    """Check the upload and read it with the choices; None when no file was sent.
    Raises :class:`UploadRefused`. Nothing is left on disk either way."""
    if not any(f is not None and f.filename for f in files):
        return None
    sent, main = _group(files)
    crs = choice.crs_value()
    folder = tempfile.mkdtemp(prefix="geo-app-upload-")
    try:
        digests = {}
        for name, storage in sent:
            h = hashlib.sha256()
            with open(Path(folder) / name, "wb") as out:
                for chunk in iter(lambda s=storage: s.stream.read(1 << 16), b""):
                    h.update(chunk)
                    out.write(chunk)
            digests[name] = h.hexdigest()
        try:
            result = read_features(Path(folder) / main, kind="polygon", crs=crs, layer=choice.layer or None,
                                   clip=choice.clip, boundary_points=choice.boundary_points)
        except ImportFailed as exc:
            raise UploadRefused([_public(exc.message, folder)], exc.choices) from None
        polygons = [g for g in result.frame.geometry.values if g is not None and g.geom_type in ("Polygon", "MultiPolygon")]
        if not polygons:
            raise UploadRefused([f"tệp '{main}' không có vùng (polygon) / the file '{main}' holds no polygon"])
        data = _geojson(result, digests, choice, main)
        return PreparedUpload([n for n, _ in sent], f"{Path(main).stem}.geojson", data,
                              [_public(m, folder) for m in result.messages],
                              float(sum(g.area for g in polygons)) / 1e4)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def _geojson(result, digests: dict[str, str], choice: UploadChoice, main: str) -> bytes:
    """The polygons in EPSG:9208 (to the millimetre) with the original names, sha256 and choices."""
    frame = result.frame
    features = []
    for i, geom in enumerate(frame.geometry.values):
        if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        geom = shapely.transform(geom, lambda c: np.round(c, 3))
        props = {c: _plain(frame[c].iloc[i]) for c in frame.columns if c != "geometry"}
        props["source_file"] = main
        features.append({"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(geom))})
    doc = {
        "type": "FeatureCollection",
        "name": Path(main).stem,
        # the legacy "crs" member, which GDAL reads: the coordinates are EPSG:9208, not WGS 84
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::9208"}},
        "source": {"files": [{"name": n, "sha256": d} for n, d in digests.items()], "format": result.format,
                   "assumed_crs": result.assumed_crs, "crs_reason": result.crs_reason,
                   "choices": {"crs": choice.crs, "epsg": choice.epsg, "layer": choice.layer, "clip": choice.clip,
                               "boundary_points": choice.boundary_points},
                   "repairs": list(dict.fromkeys(r.message for r in result.repairs))},
        "features": features,
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def form_state(choice: UploadChoice | None = None, refused: UploadRefused | None = None, files=()) -> dict:
    """What the upload part of the form shows: the choices made, the errors, the layers to choose
    from, and the original names of the files the version already holds."""
    choice = choice or UploadChoice()
    return {"choice": choice, "errors": list(refused.errors) if refused else [],
            "layers": list(refused.choices) if refused else [],
            "kept": [", ".join(original_names(p)) for p in files]}
