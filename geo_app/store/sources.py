"""The source registry: every public input file pinned by upstream URL and sha256.

A file is resolved from the local mirror first (``GEO_APP_DATA_MIRROR``), then from the cache in
``GEO_APP_HOME/cache``, and only then downloaded (pooch writes to a temporary file and moves it into
place after the hash checks, so a failed or truncated download leaves nothing in the cache). The
sha256 is verified every time, whichever place the file comes from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import pooch
import yaml

from geo_app.errors import SourceDataError
from geo_app.io.files import sha256_file
from geo_app.settings import Settings
from geo_app.settings import settings as current_settings


class SourceError(SourceDataError):
    """A source file could not be had or failed its checksum. The message says what to do."""


@dataclass(frozen=True)
class SourceFile:
    source_id: str
    url: str
    sha256: str
    size: int

    @property
    def relative_path(self) -> Path:
        """``github/OWNER/REPO/COMMIT/PATH``: the mirror and cache layout of this file."""
        parsed = urlparse(self.url)
        if parsed.netloc != "raw.githubusercontent.com":
            return Path(parsed.netloc) / parsed.path.lstrip("/")
        return Path("github") / parsed.path.lstrip("/")

    @property
    def name(self) -> str:
        return self.relative_path.name


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    licence: str
    attribution: str
    files: tuple[SourceFile, ...] = field(default_factory=tuple)


@lru_cache(maxsize=4)
def _load_registry(path: Path) -> dict[str, Source]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]
    registry = {}
    for source_id, entry in raw.items():
        files = tuple(
            SourceFile(source_id, f["url"], f["sha256"].lower(), int(f["size"])) for f in entry["files"]
        )
        registry[source_id] = Source(
            source_id, entry["title"], entry["licence"], entry["attribution"], files
        )
    return registry


def registry(cfg: Settings | None = None) -> dict[str, Source]:
    cfg = cfg or current_settings()
    return _load_registry(cfg.definitions / "sources.yaml")


def fetch_file(item: SourceFile, cfg: Settings | None = None) -> Path:
    """Return a local, verified path for one pinned file (mirror → cache → download)."""
    cfg = cfg or current_settings()
    if cfg.mirror is not None:
        mirrored = cfg.mirror / item.relative_path
        if mirrored.exists():
            actual = sha256_file(mirrored)
            if actual != item.sha256:
                raise SourceError(
                    f"Nguồn '{item.source_id}': tệp {mirrored} có sha256 {actual}, cần {item.sha256} (ghim trong "
                    f"layers/sources.yaml). Tệp trong bản sao bị hỏng hoặc khác phiên bản: hãy khôi phục từ {item.url}, "
                    f"hoặc bỏ GEO_APP_DATA_MIRROR để tải về.\n"
                    f"Source '{item.source_id}': the mirror copy {mirrored} has sha256 {actual}, "
                    f"expected {item.sha256} (pinned in layers/sources.yaml). The mirror file is corrupted "
                    f"or a different version: restore it from {item.url}, or unset GEO_APP_DATA_MIRROR "
                    f"to download it."
                )
            return mirrored
    cached = cfg.cache_dir / item.relative_path
    if cached.exists() and sha256_file(cached) == item.sha256:
        return cached
    if cfg.offline:
        raise SourceError(
            f"Nguồn '{item.source_id}': không có tệp {item.name} trong bản sao cục bộ hay bộ nhớ đệm, và "
            f"GEO_APP_OFFLINE đang bật. Hãy trỏ GEO_APP_DATA_MIRROR tới bản sao có {item.relative_path}, hoặc "
            f"kết nối mạng rồi chạy lại để tải {item.url}.\nSource '{item.source_id}': "
            f"{item.name} is neither in the mirror ({cfg.mirror or 'GEO_APP_DATA_MIRROR not set'}) nor in the "
            f"cache ({cached}), and GEO_APP_OFFLINE is set. Point GEO_APP_DATA_MIRROR at a mirror that "
            f"holds {item.relative_path}, or go online and run again to download {item.url}."
        )
    try:
        path = pooch.retrieve(
            item.url,
            known_hash=f"sha256:{item.sha256}",
            fname=item.relative_path.name,
            path=cached.parent,
            progressbar=False,
        )
    except ValueError as exc:  # pooch's hash mismatch: the temporary download is already deleted
        raise SourceError(
            f"Nguồn '{item.source_id}': tệp tải về không khớp sha256 đã ghim (bị cắt cụt hoặc đã đổi); không giữ lại gì, "
            f"hãy thử lại.\nSource '{item.source_id}': the download of {item.url} does not match the pinned sha256 "
            f"{item.sha256} (truncated or changed upstream). Nothing was kept; try again, or check "
            f"the pin in layers/sources.yaml. ({exc})"
        ) from exc
    except Exception as exc:  # network errors of every kind
        raise SourceError(
            f"Nguồn '{item.source_id}': không tải được {item.url}; kiểm tra mạng hoặc đặt GEO_APP_DATA_MIRROR.\n"
            f"Source '{item.source_id}': could not download {item.url} ({exc.__class__.__name__}: {exc}). "
            f"Check the connection, or set GEO_APP_DATA_MIRROR to a local mirror of the sources."
        ) from exc
    return Path(path)


def fetch(source_id: str, cfg: Settings | None = None) -> list[Path]:
    """All files of one source, verified, in the registry's order."""
    cfg = cfg or current_settings()
    try:
        source = registry(cfg)[source_id]
    except KeyError:
        raise SourceError(f"Unknown source '{source_id}': it is not in layers/sources.yaml.") from None
    return [fetch_file(item, cfg) for item in source.files]


def fingerprint(source_ids: list[str], cfg: Settings | None = None) -> dict[str, list[str]]:
    """The pinned hashes of the given sources: what a build's output depends on."""
    reg = registry(cfg)
    return {sid: [f.sha256 for f in reg[sid].files] for sid in sorted(source_ids)}
