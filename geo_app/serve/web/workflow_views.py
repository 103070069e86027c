"""Production areas: list, page (status, validation report, dossier downloads), history, and the
workflow actions. Thin: parse the form, call ``geo_app.production.workflow``, render."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from geo_app import layers
from geo_app.production import workflow
from geo_app.serve.web import uploads
from geo_app.serve.web.extensions import json_requested, roles_required

bp = Blueprint("workflow", __name__, url_prefix="/products")
SEES_DRAFTS = ("officer", "approver")


def _sees_drafts() -> bool:
    return current_user.is_authenticated and current_user.has_role(*SEES_DRAFTS)


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except workflow.WorkflowError as exc:
        abort(exc.status, description=str(exc))


def _number(text: str) -> int:
    return _call(workflow.parse_version, text)


@bp.get("/areas.geojson")
def areas():
    data = workflow.area_features(include_drafts=_sees_drafts())
    resp = jsonify(data)
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


def map_layer() -> list[dict]:
    """The production areas on the map, in the dossier sheet's colours."""
    from geo_app.production.dossier.sheet import COLOURS

    return [{"id": "production-areas", "title": {"vi": "Vùng sản xuất", "en": "Production areas"},
             "style": {"color": COLOURS["area_edge"], "weight": 2, "fillColor": COLOURS["area_fill"], "fillOpacity": 0.28},
             "geometry": "MultiPolygon", "url": "/products/areas.geojson", "whole": True}]


@bp.get("/")
def products():
    items = []
    for pid, product in _call(workflow.products).items():
        shown = workflow.latest(pid, include_drafts=_sees_drafts())
        items.append((pid, product, shown))
    return render_template("products.html", items=items, sees_drafts=_sees_drafts())


@bp.get("/<product_id>")
def product(product_id: str):
    return _product_page(product_id)


def _product_page(product_id: str, *, area: dict | None = None, upload: dict | None = None):
    """The product page; after a refused upload, with the officer's selections (``area``) and the
    upload's errors and choices (``upload``) kept in the form."""
    base = _call(workflow.base_product, product_id)
    sees = _sees_drafts()
    all_versions = workflow.versions(product_id)
    shown = [v for v in all_versions if sees or v.status == "confirmed"]
    current = shown[-1] if shown else None
    options = {}
    if current_user.is_authenticated and current_user.has_role("officer"):
        communes = layers.read("communes")
        former = layers.read("former-communes")
        districts = layers.read("former-districts")
        options = {
            "districts": sorted(zip(districts["code"], districts["label"]), key=lambda t: t[0]),
            "communes": sorted(zip(communes["code"], communes["full_name"]), key=lambda t: t[1]),
            "former": sorted(zip(former["code"], former["full_name"] + " – " + former["former_district"].fillna("")),
                             key=lambda t: t[1]),
        }
    if area is None:
        area = current.area if current else workflow.default_area(product_id)
    return render_template("product.html", product=base, pid=product_id, versions=shown, current=current,
                           area=area, options=options, sees_drafts=sees,
                           findings=workflow.shown_findings(current) if current else [],
                           upload=upload or uploads.form_state(files=area.get("files") or []))


@bp.get("/<product_id>/history")
def history(product_id: str):
    base = _call(workflow.base_product, product_id)
    if not _sees_drafts():
        abort(403, description="Lịch sử chỉ dành cho cán bộ và người phê duyệt. / History is for officers and approvers.")
    return render_template("history.html", product=base, pid=product_id, entries=workflow.history(product_id))


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
    choice = uploads.UploadChoice.from_form(request.form)
    try:
        prepared = uploads.prepare(request.files.getlist("file"), choice)
    except uploads.UploadRefused as exc:
        if json_requested():
            abort(400, description=exc.message)
        # the form again, with what the officer chose and each error naming the file
        current = workflow.latest(product_id)
        kept = current.area.get("files", []) if current is not None else []
        # "keep the uploaded files" stays as the officer left it
        shown = {**area, "files": kept if request.form.get("keep_files") == "1" else []}
        return _product_page(product_id, area=shown, upload=uploads.form_state(choice, exc, kept)), 400
    upload = prepared.as_upload() if prepared is not None else None
    if upload is None:
        if request.form.get("keep_files") == "1":
            current = workflow.latest(product_id)
            if current is not None:
                area["files"] = list(current.area.get("files", []))
    version = _call(workflow.save_draft, product_id, current_user.name, area, upload)
    return redirect(url_for("workflow.product", product_id=product_id, _anchor=f"v{version.version}"))


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
    if paper not in ("A3", "A4"):
        abort(400, description="paper: A3 hoặc A4 / must be A3 or A4")
    _call(workflow.confirm, product_id, _number(version), current_user.name, paper)
    return redirect(url_for("workflow.product", product_id=product_id))


@bp.get("/<product_id>/<version>/dossier.zip")
def dossier(product_id: str, version: str):
    path = _call(workflow.dossier_path, product_id, _number(version))
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=path.name)
