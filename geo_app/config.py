"""Where things live. Every path comes from the environment so tests and CI can redirect them.

- ``GEO_APP_HOME``: the git-ignored data folder (layer store, cache, reports). Default ``var/``.
- ``GEO_APP_DATA_MIRROR``: a local mirror of the pinned source files, laid out as
  ``github/OWNER/REPO/COMMIT/PATH``; read before the cache and before any download.
- ``GEO_APP_OFFLINE``: when set to 1, never download; a source missing locally is an error.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: The repository's own definitions (layers/*.yaml, sources.yaml, products, styles).
DEFINITIONS_DIR = Path(__file__).resolve().parent.parent / "layers"


@dataclass(frozen=True)
class Settings:
    home: Path
    mirror: Path | None
    offline: bool
    definitions: Path = DEFINITIONS_DIR

    @property
    def store_path(self) -> Path:
        return self.home / "layers.gpkg"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"


def settings() -> Settings:
    """The settings for the current environment: a changed environment (tests) takes effect at once,
    while an unchanged one costs no path resolution (this runs several times per web request)."""
    return _settings(
        os.environ.get("GEO_APP_HOME", "var"),
        os.environ.get("GEO_APP_DATA_MIRROR"),
        os.environ.get("GEO_APP_OFFLINE", ""),
        os.getcwd(),
    )


@lru_cache(maxsize=16)
def _settings(home: str, mirror: str | None, offline: str, cwd: str) -> Settings:
    return Settings(
        home=Path(cwd, home).resolve(),
        mirror=Path(cwd, mirror).resolve() if mirror else None,
        offline=offline in ("1", "true", "yes"),
    )
