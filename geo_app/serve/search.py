"""Place-name search without diacritics: 2025 communes and the former communes merged into them.

Framework-free: the web view only parses ``q`` and formats the result. ``search("ta gia khau")``
finds the former commune *Xã Tả Gia Khâu* and says it went into the 2025 commune *Xã Pha Long*.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

from geo_app import layers
from geo_app.admin.names import fold, normalise_unit_name

MAX_QUERY = 100


@dataclass(frozen=True)
class Hit:
    kind: str  # "commune" (2025) or "former-commune"
    code: str
    name: str  # full name with diacritics
    detail: str  # former district(s) or province
    new_code: str  # the 2025 commune it is, or went into
    new_commune: str
    bbox: tuple[float, float, float, float] | None  # WGS 84 extent of the 2025 commune
    score: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Entry:
    key: str  # folded core name ("ta gia khau")
    full: str  # folded full name ("xa ta gia khau")
    hit: Hit


def _s(value) -> str:
    return "" if value is None or value != value else str(value)  # NaN-safe


@lru_cache(maxsize=4)
def _index(version: str) -> tuple[_Entry, ...]:
    communes = layers.read("communes", crs="EPSG:4326")
    bounds = {}
    entries: list[_Entry] = []
    for row, geom in zip(communes.drop(columns="geometry").to_dict(orient="records"), communes.geometry.values):
        code = _s(row.get("code"))
        bbox = tuple(round(float(v), 5) for v in geom.bounds) if geom is not None else None
        bounds[code] = (bbox, _s(row.get("full_name")))
        hit = Hit("commune", code, _s(row.get("full_name")), _s(row.get("former_districts")), code,
                  _s(row.get("full_name")), bbox, 0)
        entries.append(_Entry(normalise_unit_name(hit.name), fold(hit.name), hit))
    former = layers.read("former-communes")
    for row in former.to_dict(orient="records"):
        new_code = _s(row.get("new_code"))
        bbox, new_name = bounds.get(new_code, (None, _s(row.get("new_commune"))))
        hit = Hit("former-commune", _s(row.get("code")), _s(row.get("full_name")), _s(row.get("former_district")),
                  new_code, _s(row.get("new_commune")) or new_name, bbox, 0)
        entries.append(_Entry(normalise_unit_name(hit.name), fold(hit.name), hit))
    return tuple(entries)


def index() -> tuple[_Entry, ...]:
    return _index(layers.store_version("communes"))


def search(query: str, limit: int = 10) -> list[Hit]:
    """Hits for ``query`` (any case, with or without diacritics), best first.

    Exact name first, then names starting with the query, then names containing every word of it;
    2025 communes before former communes at equal rank.
    """
    q = normalise_unit_name(query or "")
    if not q:
        return []
    words = q.split()
    scored = []
    for entry in index():
        if entry.key == q:
            score = 100
        elif entry.key.startswith(q):
            score = 80
        elif all(w in entry.key.split() for w in words):
            score = 60
        elif q in entry.full:
            score = 40
        elif all(w in entry.full for w in words):
            score = 20
        else:
            continue
        if entry.hit.kind == "commune":
            score += 5
        scored.append((score, entry.hit.name, entry.hit))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [Hit(**{**asdict(hit), "score": score}) for score, _, hit in scored[:limit]]
