"""Flask extensions and cross-cutting request handling: i18n (Flask-Babel), login (Flask-Login),
CSRF (Flask-WTF), request rate limits (Flask-Limiter; the login limit itself is in the database:
``geo_app.serve.login_limit``), body size per path, anonymous access, error pages."""
from __future__ import annotations

import tempfile
from datetime import datetime
from functools import wraps
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, abort, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import Babel, get_locale
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from geo_app.errors import GeoAppError
from geo_app.serve import accounts
from geo_app.serve.web.limits import body_limit, is_upload_path
from geo_app.settings import settings

LANGUAGES = ("vi", "en")
TRANSLATIONS_SRC = Path(__file__).resolve().parent / "translations"

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(get_remote_address, storage_uri="memory://", default_limits=[])


class WebUser:
    """Flask-Login's view of a ``geo_app.serve.accounts.User``."""

    def __init__(self, user: accounts.User):
        self.user = user
        self.name, self.role = user.name, user.role

    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.user.active

    def get_id(self) -> str:
        # "<id>:<session version>": logging out, a password change or disabling the account increments
        # the version in the accounts database, so an older cookie no longer loads the user
        return f"{self.user.id}:{self.user.session_version}"

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
                if json_requested() or is_api_path():
                    abort(401, description=LOGIN_REQUIRED)
                return redirect(url_for("auth.login", next=request.full_path))
            if not current_user.has_role(*roles):
                abort(403, description=f"Vai trò '{current_user.role}' không được phép. / Role '{current_user.role}' "
                      f"may not do this (needs {' or '.join(roles)}).")
            return view(*args, **kwargs)

        return wrapped

    return decorator


LOGIN_REQUIRED = "Cần đăng nhập. / Login required."
API_PREFIXES = ("/ogcapi", "/data", "/api")
JSON_MEDIA = ("application/json", "application/geo+json")


class ApiError(HTTPException):
    """An HTTP error carrying an OGC API exception code (e.g. "InvalidParameterValue")."""

    def __init__(self, status: int, description: str, ogc_code: str | None = None):
        super().__init__(description)
        self.code, self.ogc_code = status, ogc_code


#: OGC API exception codes (the ``code`` of an /ogcapi error body) per HTTP status.
OGC_CODES = {400: "InvalidParameterValue", 401: "NotAuthorized", 403: "Forbidden", 404: "NotFound",
             405: "MethodNotAllowed", 406: "NotAcceptable", 413: "PayloadTooLarge", 429: "TooManyRequests",
             500: "ServerError", 503: "ServiceUnavailable"}
#: Messages for errors raised without one of their own (werkzeug's defaults are English only).
DEFAULT_MESSAGES = {
    400: ("Yêu cầu không hợp lệ.", "Bad request."),
    401: ("Cần đăng nhập.", "Login required."),
    403: ("Bạn không có quyền làm việc này.", "You may not do this."),
    404: ("Không tìm thấy trang hoặc dữ liệu này.", "Not found."),
    405: ("Phương thức {method} không dùng được ở địa chỉ này.", "Method {method} is not allowed here."),
    406: ("Không có định dạng phù hợp.", "No acceptable representation."),
    429: ("Quá nhiều yêu cầu; vui lòng thử lại sau.", "Too many requests; please try again later."),
    500: ("Lỗi máy chủ; vui lòng thử lại sau.", "Internal server error; please try again later."),
    503: ("Dịch vụ tạm thời không dùng được.", "Service temporarily unavailable."),
}


def is_api_path() -> bool:
    path = request.path
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


def prefers_html() -> bool:
    """HTML only when explicitly preferred: ``f=html``, or an Accept header that names text/html
    (or XHTML) with a higher quality than JSON gets (wildcards included). No Accept, ``*/*`` or
    ``application/json`` → JSON."""
    f = request.args.get("f")
    if f:
        return f == "html"
    accept = request.accept_mimetypes
    html = max((q for value, q in accept if value in ("text/html", "application/xhtml+xml")), default=0)
    return html > max(accept.quality(m) for m in JSON_MEDIA)


def wants_json() -> bool:
    """Errors and content as JSON: always on /ogcapi, /data and /api unless HTML is explicitly
    preferred; elsewhere only with ``f`` other than html."""
    if is_api_path():
        return not prefers_html()
    f = request.args.get("f")
    return bool(f) and f != "html"


def json_requested() -> bool:
    """``wants_json()``, or a client (a script, a test) that asks for JSON first in its Accept header."""
    return wants_json() or request.accept_mimetypes.best == "application/json"


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


#: Times are stored in UTC (ISO 8601) and shown as the local time of Lào Cai.
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_time(text: str | None) -> str:
    """An ISO time as local time in Lào Cai (Asia/Ho_Chi_Minh): "dd/mm/yyyy HH:MM"."""
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    @app.before_request
    def limit_body():
        # the same per-path limit the production server applies before reading the body; first of all
        # the request hooks, since the CSRF check reads the form
        request.max_content_length = body_limit(request.path, app.config["MAX_CONTENT_LENGTH"])

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(_compile_translations()))
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    limiter.init_app(app)

    @login_manager.user_loader
    def load_user(user_id: str):
        # "<id>:<session version>" (WebUser.get_id); anything else (an older cookie format) is refused
        parts = (user_id or "").split(":")
        if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) < 19 for p in parts):
            return None
        user = accounts.session_user(int(parts[0]), int(parts[1]))
        return WebUser(user) if user is not None else None

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
        if wants_json() or is_api_path() or request.method != "GET":
            abort(401, description=LOGIN_REQUIRED)
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
        return _error(400, "CSRF: thiếu hoặc sai mã CSRF (csrf_token); tải lại trang rồi thử lại. / The CSRF token "
                      f"(csrf_token) is missing or invalid ({exc.description}); reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        message = exc.description
        if not message or message == type(exc).description:
            vi, en = DEFAULT_MESSAGES.get(status, ("Lỗi.", exc.name))
            message = f"{vi} / {en}".format(method=request.method)
        return _error(status, message, exc)

    @app.errorhandler(GeoAppError)
    def user_error(exc: GeoAppError):
        # errors raised on purpose by the core carry their own status and a message for the user
        return _error(exc.status, exc.message)

    @app.errorhandler(429)
    def too_many(exc):
        retry = retry_after_seconds(exc)
        if request.endpoint in ("auth.login", "auth.account"):
            message = (f"Quá nhiều lần đăng nhập; thử lại sau {retry} giây. / Too many login attempts; "
                       f"try again in {retry} s.")
        else:
            message = f"Quá nhiều yêu cầu; thử lại sau {retry} giây. / Too many requests; try again in {retry} s."
        resp = _error(429, message, exc)
        resp.headers.setdefault("Retry-After", str(retry))
        return resp

    @app.errorhandler(413)
    def too_large(exc):
        if is_upload_path(request.path):
            # the files' own limit (the multipart envelope beside them is not the officer's concern)
            limit = app.config["MAX_CONTENT_LENGTH"]
            size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
            return _error(413, f"file: tệp tải lên quá lớn (tối đa {size}) / upload too large (max {size})")
        limit = request.max_content_length or app.config["MAX_CONTENT_LENGTH"]
        return _error(413, f"Yêu cầu quá lớn (tối đa {limit // 1024} KB) / request too large (max {limit // 1024} KB)")


def retry_after_seconds(exc=None) -> int:
    """Seconds until the limit that was hit resets (at least 1): the login limit's own figure, else
    Flask-Limiter's."""
    import math
    import time

    retry = getattr(exc, "retry_after", None)
    if isinstance(retry, int | float) and retry > 0:
        return max(1, math.ceil(retry))
    try:
        current = limiter.current_limit
        if current is not None:
            return max(1, math.ceil(current.reset_at - time.time()))
    except Exception:  # pragma: no cover - the limiter's state is best effort
        pass
    return 60


def _error(status: int, message: str, exc: HTTPException | None = None):
    if json_requested():
        if request.path == "/ogcapi" or request.path.startswith("/ogcapi/"):
            # OGC API exception: {code, description}
            code = getattr(exc, "ogc_code", None) or OGC_CODES.get(status, "NoApplicableCode")
            resp = jsonify({"code": code, "description": message})
        else:
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
