"""Flask extensions and cross-cutting request handling: i18n (Flask-Babel), login (Flask-Login),
CSRF (Flask-WTF), login rate limit (Flask-Limiter, in memory), anonymous access, error pages."""
from __future__ import annotations

import tempfile
from functools import wraps
from pathlib import Path

from flask import Flask, abort, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import Babel, get_locale
from flask_login import LoginManager, current_user
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from .. import accounts
from ..config import settings

LANGUAGES = ("vi", "en")
TRANSLATIONS_SRC = Path(__file__).resolve().parent / "translations"

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(get_remote_address, storage_uri="memory://", default_limits=[])


class WebUser:
    """Flask-Login's view of a ``geo_app.accounts.User``."""

    def __init__(self, user: accounts.User):
        self.user = user
        self.name, self.role = user.name, user.role

    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.user.active

    def get_id(self) -> str:
        return str(self.user.id)

    def has_role(self, *roles: str) -> bool:
        return self.user.has_role(*roles)


def role(user) -> str | None:
    return getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None


def roles_required(*roles: str):
    """Refuse anonymous users (401) and users of other roles (403). Admin may do everything."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                if wants_json():
                    abort(401, description="Cần đăng nhập. / Login required.")
                return redirect(url_for("auth.login", next=request.full_path))
            if not current_user.has_role(*roles):
                abort(403, description=f"Vai trò '{current_user.role}' không được phép. / Role '{current_user.role}' "
                      f"may not do this (needs {' or '.join(roles)}).")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def wants_json() -> bool:
    f = request.args.get("f")
    if f:
        return f != "html"
    if request.path.startswith(("/ogcapi", "/data", "/api")):
        best = request.accept_mimetypes.best_match(["text/html", "application/json", "application/geo+json"])
        return best != "text/html"
    return False


def _compile_translations() -> Path:
    """Compile the .po catalogues into .mo files (cheap; keeps binaries out of git)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for base in (settings().home / ".translations", Path(tempfile.gettempdir()) / "geo_app_translations"):
        try:
            for po in TRANSLATIONS_SRC.glob("*/LC_MESSAGES/messages.po"):
                mo = base / po.relative_to(TRANSLATIONS_SRC).with_suffix(".mo")
                if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                    continue
                mo.parent.mkdir(parents=True, exist_ok=True)
                with po.open("rb") as fh:
                    catalog = read_po(fh)
                tmp = mo.with_suffix(".tmp")
                with tmp.open("wb") as fh:
                    write_mo(fh, catalog)
                tmp.replace(mo)
            return base
        except OSError:
            continue
    return TRANSLATIONS_SRC


STATUS = {"draft": ("Bản nháp", "Draft"), "submitted": ("Đã trình", "Submitted"), "confirmed": ("Đã xác nhận", "Confirmed")}


def status_label(status: str) -> str:
    vi, en = STATUS.get(status, (status, status))
    return en if str(get_locale() or "vi") == "en" else vi


def select_locale() -> str:
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        return lang
    return session.get("lang") if session.get("lang") in LANGUAGES else "vi"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(_compile_translations()))
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    limiter.init_app(app)

    @login_manager.user_loader
    def load_user(user_id: str):
        try:
            user = accounts.get(int(user_id))
        except ValueError:
            return None
        return WebUser(user) if user and user.active else None

    @app.before_request
    def remember_language():
        lang = request.args.get("lang")
        if lang in LANGUAGES and session.get("lang") != lang:
            session["lang"] = lang

    @app.before_request
    def anonymous_gate():
        if app.config["ANONYMOUS_ACCESS"] != "none" or current_user.is_authenticated:
            return None
        if request.endpoint in ("auth.login", "static", "assets.leaflet", "map.static_file") or (
            request.endpoint or ""
        ).startswith("assets."):
            return None
        if wants_json() or request.method != "GET":
            abort(401, description="Cần đăng nhập. / Login required.")
        return redirect(url_for("auth.login", next=request.full_path))

    @app.context_processor
    def template_globals():
        return {
            "lang": str(get_locale() or "vi"),
            "current_role": role(current_user),
            "role_labels": accounts.ROLE_LABELS,
            "has_workflow": "workflow" in app.blueprints,
            "status_label": status_label,
        }

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _error(400, f"CSRF: {exc.description} / Thiếu hoặc sai mã CSRF (csrf_token).")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _error(exc.code or 500, exc.description or exc.name, exc)

    @app.errorhandler(413)
    def too_large(exc):
        limit = app.config["MAX_CONTENT_LENGTH"]
        return _error(413, f"file: tệp quá lớn (tối đa {limit // (1024 * 1024)} MB) / upload too large "
                      f"(max {limit // (1024 * 1024)} MB)")


def _error(status: int, message: str, exc: HTTPException | None = None):
    if wants_json() or request.method != "GET" and request.accept_mimetypes.best == "application/json":
        resp = jsonify({"code": status, "description": message})
    else:
        resp = current_app.response_class(
            render_template("error.html", status=status, message=message), mimetype="text/html"
        )
    resp.status_code = status
    if exc is not None and hasattr(exc, "get_headers"):
        for key, value in exc.get_headers():
            if key.lower() not in ("content-type", "content-length"):
                resp.headers[key] = value
    return resp
