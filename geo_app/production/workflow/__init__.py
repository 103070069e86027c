"""The production-area confirmation workflow: drafts, frozen boundaries, submission, confirmation, audit.

Framework-free (the Flask views in ``geo_app.serve.web.workflow_views`` only parse and format). State lives
in ``$GEO_APP_HOME/workflow.sqlite3``; uploaded files and dossiers under ``$GEO_APP_HOME/workflow/``.

- An officer creates or edits a **draft** version of a product's area (2025 communes, former communes,
  former districts, an uploaded polygon file). The boundary is resolved once, at save, and **frozen** with
  the version (``freezing``; ``geo_app.production.boundary``): every page, map, export and dossier reads it.
- The officer **submits** it when its check has no errors; an approver who neither edited nor submitted it
  (**four eyes**, ``states``) **confirms** it (``packaging``: the dossier from the frozen boundary, zipped,
  its sha256 stored) or **returns** it with a comment.
- A confirmed version never changes (SQLite triggers refuse it); editing starts a new draft version.
- Every action appends a row to a hash-chained audit (``repository``); ``recovery.verify`` checks it and
  every confirmed dossier, ``recovery.startup`` cleans what a crash left and refuses writes if it fails.

Modules: ``repository`` (schema, transactions, audit chain), ``states`` (state machine, four eyes),
``freezing`` (boundary at save, re-freezing), ``seeding``, ``actions`` (save, submit, return),
``packaging`` (confirm), ``recovery`` (start-up), ``public`` (map and OGC data).
"""
from geo_app.production.workflow.actions import (
    MAX_VERSION,
    UPLOAD_SUFFIXES,
    authors_of,
    check_codes,
    get_version,
    history,
    latest,
    parse_codes,
    parse_revision,
    parse_version,
    return_version,
    save_draft,
    shown_findings,
    store_upload,
    submit,
    versions,
)
from geo_app.production.workflow.freezing import (
    base_product,
    default_area,
    freeze_area,
    product_for,
    products,
    refreeze_drafts,
    store_fingerprint,
)
from geo_app.production.workflow.packaging import PAPERS, RENDER_LOCK, confirm, dossier_path
from geo_app.production.workflow.public import (
    area_collection,
    area_features,
    confirmed_features,
    confirmed_state,
    tolerance_for_zoom,
)
from geo_app.production.workflow.recovery import Verification, clean, startup, verify
from geo_app.production.workflow.repository import (
    SCHEMA,
    Version,
    WorkflowError,
    WritesRefused,
    db_path,
    home,
    writes_refused,
)
from geo_app.production.workflow.seeding import _SEEDED, SEED_ACTION, SEED_NOTE, SEED_USER, ensure_seeded, seed_all
from geo_app.production.workflow.states import ACTION_NAMES, STATUS_NAMES, action_words

__all__ = [
    "ACTION_NAMES", "MAX_VERSION", "PAPERS", "RENDER_LOCK", "SCHEMA", "SEED_ACTION", "SEED_NOTE", "SEED_USER",
    "STATUS_NAMES", "UPLOAD_SUFFIXES", "Verification", "Version", "WorkflowError", "WritesRefused", "_SEEDED",
    "action_words", "authors_of", "area_collection", "area_features", "base_product", "check_codes", "clean", "confirm",
    "confirmed_features", "confirmed_state", "db_path", "default_area", "dossier_path", "ensure_seeded",
    "freeze_area", "get_version", "history", "home", "latest", "parse_codes", "parse_revision", "parse_version",
    "product_for", "products", "refreeze_drafts", "return_version", "save_draft", "seed_all", "shown_findings",
    "startup", "store_fingerprint", "store_upload", "submit", "tolerance_for_zoom", "verify", "versions",
    "writes_refused",
]
