"""Place-name products and the definition of their production areas (``layers/products/*.yaml``).

A production area is any combination of: 2025 communes (GSO codes), former communes (pre-2025 GSO
codes), former districts (080–089) and polygon files. ``geo_app.production.area.resolve`` turns a
definition into geometry.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from geo_app.errors import InputError
from geo_app.settings import settings

MARK_KINDS = {
    "collective": {"vi": "Nhãn hiệu tập thể", "en": "Collective mark"},
    "certification": {"vi": "Nhãn hiệu chứng nhận", "en": "Certification mark"},
    "geographical-indication": {"vi": "Chỉ dẫn địa lý", "en": "Geographical indication"},
}
STATUSES = {
    "draft": {"vi": "Bản nháp", "en": "Draft"},
    "submitted": {"vi": "Đã trình", "en": "Submitted"},
    "confirmed": {"vi": "Đã xác nhận", "en": "Confirmed"},
}
_AREA_KEYS = {"communes_2025", "former_communes", "former_districts", "files", "former_commune_boundaries", "note"}


class ProductDefinitionError(InputError):
    """A product file is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class AreaDefinition:
    communes_2025: tuple[str, ...] = ()
    former_communes: tuple[str, ...] = ()
    former_districts: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()
    #: A user file of former-commune polygons (field ``code``) for pieces that need them.
    former_commune_boundaries: Path | None = None
    note: dict = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.communes_2025 or self.former_communes or self.former_districts or self.files)


@dataclass(frozen=True)
class Product:
    id: str
    name: dict
    mark_kind: str
    mark_text: dict
    owner: dict | None
    status: str
    legal_basis: tuple[str, ...]
    sources: tuple[str, ...]
    area: AreaDefinition
    path: Path | None = None


def _codes(value, where: str, key: str, width: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ProductDefinitionError(f"{where}: area.{key} phải là danh sách / must be a list of codes")
    codes = []
    for item in value:
        code = str(item).strip().zfill(width)
        if not code.isdigit() or len(code) != width:
            raise ProductDefinitionError(f"{where}: area.{key}: '{item}' không phải mã GSO {width} chữ số / is not a {width}-digit GSO code")
        codes.append(code)
    return tuple(codes)


def parse_product(raw: dict, where: str, base_dir: Path | None = None) -> Product:
    """Check and read one product definition (a dict as in the YAML files)."""
    for key in ("id", "name", "mark", "status", "area"):
        if key not in raw:
            raise ProductDefinitionError(f"{where}: thiếu khoá / missing key '{key}'")
    mark = raw["mark"] or {}
    if mark.get("kind") not in MARK_KINDS:
        raise ProductDefinitionError(f"{where}: mark.kind phải là một trong / must be one of {sorted(MARK_KINDS)}")
    if raw["status"] not in STATUSES:
        raise ProductDefinitionError(f"{where}: status phải là một trong / must be one of {sorted(STATUSES)}")
    area_raw = raw["area"] or {}
    unknown = set(area_raw) - _AREA_KEYS
    if unknown:
        raise ProductDefinitionError(f"{where}: khoá lạ trong area / unknown keys in area: {sorted(unknown)}")

    def as_path(p) -> Path:
        path = Path(p)
        return path if path.is_absolute() or base_dir is None else base_dir / path

    boundaries = area_raw.get("former_commune_boundaries")
    area = AreaDefinition(
        communes_2025=_codes(area_raw.get("communes_2025"), where, "communes_2025", 5),
        former_communes=_codes(area_raw.get("former_communes"), where, "former_communes", 5),
        former_districts=_codes(area_raw.get("former_districts"), where, "former_districts", 3),
        files=tuple(as_path(p) for p in area_raw.get("files") or []),
        former_commune_boundaries=as_path(boundaries) if boundaries else None,
        note=area_raw.get("note") or {},
    )
    return Product(
        id=str(raw["id"]),
        name=raw["name"],
        mark_kind=mark["kind"],
        mark_text=mark.get("text") or {},
        owner=raw.get("owner"),
        status=raw["status"],
        legal_basis=tuple(raw.get("legal_basis") or ()),
        sources=tuple(raw.get("sources") or ()),
        area=area,
    )


def load_product_file(path: Path) -> Product:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProductDefinitionError(f"{path}: YAML không đọc được / unreadable YAML: {exc}") from exc
    product = parse_product(raw, str(path), base_dir=path.parent)
    if product.id != path.stem:
        raise ProductDefinitionError(f"{path}: id '{product.id}' phải trùng tên tệp / must match the file name")
    return Product(**{**product.__dict__, "path": path})


def products_dir() -> Path:
    return settings().definitions / "products"


def load_products() -> dict[str, Product]:
    """Every product definition, by id, in file-name order."""
    return {p.stem: load_product_file(p) for p in sorted(products_dir().glob("*.yaml"))}


def get_product(product_id: str) -> Product:
    products = load_products()
    if product_id not in products:
        raise KeyError(
            f"Không có sản phẩm '{product_id}'. / No product '{product_id}'; known: {', '.join(products)}"
        )
    return products[product_id]
