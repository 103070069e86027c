"""A PNG of page 1 of a version's sheet, for officers and approvers to look at before submit and confirm.

The sheet is made exactly as the dossier makes it (``make_dossier(..., boundary=...)`` from the
version's frozen boundary, nothing resolved again) in a temporary folder, under the same render lock
as confirmation (matplotlib is not thread-safe), and page 1 of its PDF is rasterised with PDFium
(``pypdfium2``, Apache-2.0/BSD-3-Clause). The PNG is cached under ``$GEO_APP_HOME/previews/<product>/``
by the boundary's sha256 and the paper (and the draft mark and layer store it is drawn with), written
atomically: the same boundary on the same paper is rendered once.
"""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pypdfium2

from geo_app.io.files import write_atomic
from geo_app.production import workflow
from geo_app.production.dossier import make_dossier
from geo_app.settings import settings

#: 100 dpi: an A3 sheet is about 1650 × 1170 px — the legend and the point numbers stay readable.
DPI = 100


class PreviewError(workflow.WorkflowError):
    """The preview cannot be made (no frozen boundary, or the dossier refused it)."""


def previews_dir(product_id: str) -> Path:
    return settings().home / "previews" / product_id


def preview_path(version: workflow.Version, paper: str) -> Path:
    """Keyed by the boundary's sha256 and the paper; also by the draft mark (a confirmed sheet has none) and
    the layer store (the communes, rivers and date drawn around the area come from it)."""
    mark = "final" if version.status == "confirmed" else "draft"
    store = (workflow.store_fingerprint() or "none")[:12]
    return previews_dir(version.product_id) / f"{version.geometry_sha256}-{paper}-{mark}-{store}.png"


def _render(version: workflow.Version, paper: str) -> bytes:
    product = workflow.product_for(version.area, version.product_id, version.status)
    with tempfile.TemporaryDirectory(prefix="preview-") as tmp:
        result = make_dossier(product, Path(tmp) / "dossier", paper=paper, boundary=version.frozen())
        pdf = pypdfium2.PdfDocument(str(result.sheet))
        try:
            image = pdf[0].render(scale=DPI / 72).to_pil()
        finally:
            pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def sheet_preview(version: workflow.Version, paper: str = "A3") -> Path:
    """The cached PNG of page 1 of ``version``'s sheet on ``paper`` (made on first request)."""
    if paper not in workflow.PAPERS:
        raise PreviewError("paper: A3 hoặc A4 / must be A3 or A4", 400, "paper")
    if not version.geometry_wkb or not version.geometry_sha256:
        raise PreviewError(f"phiên bản {version.version} chưa có ranh giới cố định (kiểm tra có lỗi); sửa rồi lưu lại / "
                           f"version {version.version} has no frozen boundary (its check failed); fix it and save "
                           "again", 409, "version")
    path = preview_path(version, paper)
    if path.is_file():
        return path
    with workflow.RENDER_LOCK:
        if path.is_file():  # made by another request while this one waited for the renderer
            return path
        try:
            data = _render(version, paper)
        except workflow.WorkflowError:
            raise
        except Exception as exc:
            message = getattr(exc, "message", None) or type(exc).__name__
            raise PreviewError(f"không vẽ được bản xem trước / the preview could not be drawn: {message}", 409,
                               "preview") from exc
        write_atomic(path, data)
    return path
