"""Production areas: list, page (status, check report, dossier downloads), history, and the workflow
actions. Thin: parse the form, call ``geo_app.production.workflow``, render. Everything shown is read from
the versions' frozen boundaries; nothing is resolved while a request is answered."""
from __future__ import annotations

import dataclasses

from flask import Blueprint, Response, abort, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_login import current_user

from geo_app import layers
from geo_app.production import workflow
from geo_app.serve.maps.presentation import web_presentation
from geo_app.serve.web import product_map_views, uploads
from geo_app.serve.web.extensions import json_requested, local_time, roles_required

bp = Blueprint("workflow", __name__, url_prefix="/products")
SEES_DRAFTS = ("officer", "approver")


@bp.record_once
def _at_start(state) -> None:
    """Clean what a crash left, verify the audit (writes refused if it fails), re-freeze drafts."""
    with state.app.app_context():
        try:
            workflow.startup()
        except Exception:  # a missing store must not stop the app from serving the map
            state.app.logger.exception("workflow start-up checks failed")


def _sees_drafts() -> bool:
    return current_user.is_authenticated and current_user.has_role(*SEES_DRAFTS)


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except workflow.WorkflowError as exc:
        abort(exc.status, description=str(exc))


def _number(text: str) -> int:
    return _call(workflow.parse_version, text)


def _zoom() -> int | None:
    text = request.args.get("zoom")
    if text is None or text == "":
        return None
    if not text.isascii() or not text.isdigit() or not workflow.public.MIN_ZOOM <= int(text) <= workflow.public.MAX_ZOOM:
        abort(400, description=f"zoom: số nguyên từ 0 đến 20 / an integer from 0 to 20, not '{text[:20]}'")
    return int(text)


@bp.get("/areas.geojson")
def areas():
    """The production areas from their frozen boundaries, simplified for ``zoom``, gzipped, with an ETag.
    Drafts only for officers and approvers."""
    encoded = workflow.area_collection(include_drafts=_sees_drafts(), zoom=_zoom())
    etag = f'"{encoded.etag}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Accept-Encoding, Cookie"}
    if etag in request.if_none_match or encoded.etag in request.if_none_match:
        return Response(status=304, headers=headers)
    if "gzip" in request.accept_encodings:
        resp = Response(encoded.gzipped, mimetype="application/geo+json", headers=headers)
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp = Response(encoded.body, mimetype="application/geo+json", headers=headers)
    return resp


def map_layer() -> list[dict]:
    """The production areas on the map: style, popup and status labels from the layer YAML."""
    info = layers.info("production-areas")
    return [{"id": "production-areas", "title": {"vi": "Vùng sản xuất", "en": "Production areas"},
             "style": info.style, "geometry": "MultiPolygon", "url": "/products/areas.geojson", "whole": True,
             **web_presentation(info)}]


@bp.get("/")
def products():
    items = []
    for pid, product in _call(workflow.products).items():
        shown = workflow.latest(pid, include_drafts=_sees_drafts())
        items.append((pid, product, shown))
    return render_template("products.html", items=items, sees_drafts=_sees_drafts())


def _options() -> dict:
    communes = layers.read("communes")
    former = layers.read("former-communes")
    districts = layers.read("former-districts")
    return {
        "districts": sorted(zip(districts["code"], districts["label"]), key=lambda t: t[0]),
        "communes": sorted(zip(communes["code"], communes["full_name"]), key=lambda t: t[1]),
        "former": sorted(zip(former["code"], former["full_name"] + " – " + former["former_district"].fillna("")),
                         key=lambda t: t[1]),
    }


def _render_product(product_id: str, status: int = 200, area: dict | None = None, error: str | None = None,
                    conflict: dict | None = None, edited_from: str | None = None, upload: dict | None = None):
    """The product page; after a refused save, with the officer's selections (``area``) and the upload's
    errors and choices (``upload``) kept in the form."""
    base = _call(workflow.base_product, product_id)
    sees = _sees_drafts()
    all_versions = workflow.versions(product_id)
    shown = [v for v in all_versions if sees or v.status == "confirmed"]
    current = shown[-1] if shown else None
    is_officer = current_user.is_authenticated and current_user.has_role("officer")
    options = _options() if is_officer else {}
    area = area or (current.area if current else workflow.default_area(product_id))
    authors = workflow.authors_of(product_id, current.version) if current is not None and sees else set()
    reresolved = None
    if current is not None and sees and current.status != "confirmed":
        mine = [e for e in workflow.history(product_id) if e["version"] == current.version]
        if mine and mine[-1]["action"] == "re-resolve":  # the store was rebuilt since the last save
            reresolved = mine[-1]
    saved = request.args.get("saved")
    confirmed = request.args.get("confirmed")
    page = render_template(
        "product.html", product=base, pid=product_id, versions=shown, current=current, area=area, options=options,
        sees_drafts=sees, findings=workflow.shown_findings(current) if current else [],
        errors=current.errors if current else [], authors=sorted(authors),
        is_author=current_user.is_authenticated and current_user.name in authors,
        saved=saved == str(current.version) if current and saved else False,
        just_confirmed=confirmed == str(current.version) if current and confirmed else False,
        error=error, conflict=conflict, edited_from=edited_from or (current.token if current else ""),
        writes_refused=workflow.writes_refused(), reresolved=reresolved,
        upload=upload or uploads.form_state(files=area.get("files") or []),
    )
    return page, status


@bp.get("/<product_id>")
def product(product_id: str):
    return _render_product(product_id)


@bp.get("/<product_id>/history")
def history(product_id: str):
    base = _call(workflow.base_product, product_id)
    if not _sees_drafts():
        abort(403, description="Lịch sử chỉ dành cho cán bộ và người phê duyệt. / History is for officers and approvers.")
    entries = []
    for entry in workflow.history(product_id):
        vi, en = workflow.action_words(entry["action"])
        entries.append({**entry, "words_vi": vi, "words_en": en, "local": local_time(entry["at"])})
    return render_template("history.html", product=base, pid=product_id, entries=entries,
                           lang=str(get_locale() or "vi"))


@bp.post("/<product_id>/draft")
@roles_required("officer")
def save_draft(product_id: str):
    _call(workflow.base_product, product_id)
    area = {
        "communes_2025": _call(workflow.parse_codes, request.form.getlist("communes_2025"), 5, "communes_2025"),
        "former_communes": _call(workflow.parse_codes, request.form.getlist("former_communes"), 5, "former_communes"),
        "former_districts": _call(workflow.parse_codes, request.form.getlist("former_districts"), 3, "former_districts"),
        "files": [],
    }
    edited_from = _call(workflow.parse_revision, request.form.get("revision"))
    choice = uploads.UploadChoice.from_form(request.form)
    files, drawn = request.files.getlist("file"), product_map_views.drawn_upload(request.form)
    if drawn is not None:  # drawn on the map: GeoJSON, always WGS 84 (RFC 7946), checked as an upload
        files, choice = [*files, drawn], dataclasses.replace(choice, crs="WGS84")
    try:
        prepared = uploads.prepare(files, choice)
    except uploads.UploadRefused as exc:
        if json_requested():
            abort(400, description=exc.message)
        # the form again, with what the officer chose and each error naming the file
        current = workflow.latest(product_id)
        kept = current.area.get("files", []) if current is not None else []
        # "keep the uploaded files" stays as the officer left it
        shown = {**area, "files": kept if request.form.get("keep_files") == "1" else []}
        return _render_product(product_id, 400, area=shown, edited_from=edited_from,
                               upload=uploads.form_state(choice, exc, kept))
    upload = prepared.as_upload() if prepared is not None else None
    if upload is None:
        if request.form.get("keep_files") == "1":
            current = workflow.latest(product_id)
            if current is not None:
                area["files"] = list(current.area.get("files", []))
    try:
        version = workflow.save_draft(product_id, current_user.name, area, upload, edited_from=edited_from)
    except workflow.WorkflowError as exc:
        if exc.field == "revision" and exc.status == 409 and not json_requested():
            # The officer's input stays in the form, beside what changed meanwhile.
            return _render_product(product_id, 409, area=area, error=str(exc), conflict=exc.detail,
                                   edited_from=exc.detail.get("current"))
        abort(exc.status, description=str(exc))
    return redirect(url_for("workflow.product", product_id=product_id, saved=version.version,
                            _anchor=f"v{version.version}"))


@bp.post("/<product_id>/<version>/submit")
@roles_required("officer")
def submit(product_id: str, version: str):
    _call(workflow.submit, product_id, _number(version), current_user.name)
    return redirect(url_for("workflow.product", product_id=product_id))


@bp.post("/<product_id>/<version>/return")
@roles_required("approver")
def return_version(product_id: str, version: str):
    _call(workflow.return_version, product_id, _number(version), current_user.name, request.form.get("comment", ""))
    return redirect(url_for("workflow.product", product_id=product_id))


@bp.post("/<product_id>/<version>/confirm")
@roles_required("approver")
def confirm(product_id: str, version: str):
    paper = request.form.get("paper", "A3")
    if paper not in workflow.PAPERS:
        abort(400, description="paper: A3 hoặc A4 / must be A3 or A4")
    number = _number(version)
    _call(workflow.confirm, product_id, number, current_user.name, paper)
    return redirect(url_for("workflow.product", product_id=product_id, confirmed=number, _anchor="dossier"))


@bp.get("/<product_id>/<version>/dossier.zip")
def dossier(product_id: str, version: str):
    path = _call(workflow.dossier_path, product_id, _number(version))
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=path.name)
