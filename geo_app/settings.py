"""Every setting the system reads from the environment, in one place.

Each ``GEO_APP_*`` variable is declared once in :data:`VARIABLES` (name, default, meaning, who reads it) and
read only through this module: :func:`settings` for the ones the program itself uses, :func:`notebook_input`
for the optional input files the notebooks take. ``docs/configuration.md`` lists the same table, and a test
keeps the two and the code in step.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: The repository's own definitions (layers/*.yaml, sources.yaml, products, styles).
DEFINITIONS_DIR = Path(__file__).resolve().parent.parent / "layers"

#: Where the Sa Pa DEM tiles of Copernicus GLO-30 are fetched from (public COGs, HTTP range requests).
GLO30_BASE_URL = "https://copernicus-dem-30m.s3.amazonaws.com"
#: The default basemap: OpenStreetMap's tiles (attribution shown on the map).
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    meaning: str
    used_by: str = "program"  # "program" or "notebooks"


VARIABLES: dict[str, Variable] = {v.name: v for v in (
    Variable("GEO_APP_HOME", "var", "The git-ignored data folder: layer store, user layers, accounts and workflow "
             "databases, dossiers, cache, reports."),
    Variable("GEO_APP_DATA_MIRROR", "", "A local mirror of the pinned source files (laid out as "
             "github/OWNER/REPO/COMMIT/PATH), read before the cache and before any download."),
    Variable("GEO_APP_OFFLINE", "", "1: never download; a source missing locally is an error."),
    Variable("GEO_APP_DATABASE_URL", "", "Unset: the embedded store (GeoPackage and SQLite under GEO_APP_HOME). "
             "postgresql://USER@HOST/DB: the layer store in PostgreSQL + PostGIS (schema geo_app_layers)."),
    Variable("GEO_APP_ANONYMOUS", "map", "What visitors who are not logged in may see: map (public layers), "
             "map+user (also the user's water layers), none (login for everything)."),
    Variable("GEO_APP_BASEMAP_URL", OSM_TILES, "The basemap tile URL template of the web map."),
    Variable("GEO_APP_OFFLINE_MAP", "", "1: no basemap tiles at all; the tile host is removed from the page and "
             "from the Content-Security-Policy."),
    Variable("GEO_APP_BEHIND_PROXY", "", "1: trust X-Forwarded-Proto/Host/For from exactly one reverse proxy "
             "(Secure cookies, HSTS, https links, the client's address in the login limit)."),
    Variable("GEO_APP_DEM_BASE_URL", GLO30_BASE_URL, "Where geo_app.water.terrain.fetch_glo30 reads the "
             "Copernicus GLO-30 tiles (a mirror of the public bucket)."),
    Variable("GEO_APP_WATER_SOURCES", "", "Notebook 02: a real water-source inventory file (else SYNTHETIC data).",
             "notebooks"),
    Variable("GEO_APP_KARST_UNITS", "", "Notebook 02: karst / lithology polygons with a field 'unit' (else "
             "SYNTHETIC).", "notebooks"),
    Variable("GEO_APP_POPULATION", "", "Notebook 02: population per 2025 commune, CSV/XLSX (else SYNTHETIC).",
             "notebooks"),
    Variable("GEO_APP_DEM", "", "Notebook 03: a DEM GeoTIFF of Sa Pa (else a SYNTHETIC DEM).", "notebooks"),
    Variable("GEO_APP_SPRINGS", "", "Notebook 03: springs/wells for the ROC validation, a file or 'inventory'.",
             "notebooks"),
    Variable("GEO_APP_LITHOLOGY", "", "Notebook 03: lithology / hydrogeology polygons as the lithology factor.",
             "notebooks"),
    Variable("GEO_APP_LITHOLOGY_FIELD", "rock", "Notebook 03: the field of GEO_APP_LITHOLOGY holding the class "
             "or rock name.", "notebooks"),
    Variable("GEO_APP_WELLS", "", "Notebook 03: wells with a level or depth field, a file or 'inventory'.",
             "notebooks"),
    Variable("GEO_APP_AQUIFERS", "", "Notebook 03: aquifer-unit polygons for the level surface statistics.",
             "notebooks"),
    Variable("GEO_APP_AQUIFER_FIELD", "", "Notebook 03: the field of GEO_APP_AQUIFERS naming the unit.",
             "notebooks"),
)}

_TRUE = ("1", "true", "yes")


def _raw(name: str) -> str:
    return os.environ.get(name, VARIABLES[name].default)


@dataclass(frozen=True)
class Settings:
    home: Path
    mirror: Path | None
    offline: bool
    database_url: str = ""
    anonymous: str = "map"
    basemap_url: str = OSM_TILES
    offline_map: bool = False
    behind_proxy: bool = False
    dem_base_url: str = GLO30_BASE_URL
    definitions: Path = DEFINITIONS_DIR

    @property
    def store_path(self) -> Path:
        return self.home / "layers.gpkg"

    @property
    def user_store_path(self) -> Path:
        """The user's own layers (water sources, zones, karst units, water balance)."""
        return self.home / "user_layers.gpkg"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def published_dir(self) -> Path:
        """Results published to the web map (groundwater runs, their files and history)."""
        return self.home / "published"


def settings() -> Settings:
    """The settings for the current environment: a changed environment (tests) takes effect at once,
    while an unchanged one costs no path resolution (this runs several times per web request)."""
    return _settings(tuple(_raw(name) for name in _PROGRAM), os.getcwd())


_PROGRAM = tuple(name for name, var in VARIABLES.items() if var.used_by == "program")


@lru_cache(maxsize=16)
def _settings(values: tuple[str, ...], cwd: str) -> Settings:
    env = dict(zip(_PROGRAM, values))
    return Settings(
        home=Path(cwd, env["GEO_APP_HOME"] or "var").resolve(),
        mirror=Path(cwd, env["GEO_APP_DATA_MIRROR"]).resolve() if env["GEO_APP_DATA_MIRROR"] else None,
        offline=env["GEO_APP_OFFLINE"].lower() in _TRUE,
        database_url=env["GEO_APP_DATABASE_URL"],
        anonymous=env["GEO_APP_ANONYMOUS"],
        basemap_url=env["GEO_APP_BASEMAP_URL"],
        offline_map=env["GEO_APP_OFFLINE_MAP"].lower() in _TRUE,
        behind_proxy=env["GEO_APP_BEHIND_PROXY"].lower() in _TRUE,
        dem_base_url=env["GEO_APP_DEM_BASE_URL"].rstrip("/"),
    )


def notebook_input(name: str) -> str | None:
    """An optional input the notebooks take (a file path, a field name); ``None`` when unset and no default."""
    if VARIABLES[name].used_by != "notebooks":
        raise KeyError(f"{name} is not a notebook input")
    return os.environ.get(name) or VARIABLES[name].default or None
