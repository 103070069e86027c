"""The Flask application: ``create_app()`` builds it; blueprints in this package are thin adapters
over the core (``geo_app.layers``, ``geo_app.serve.features``, ``geo_app.serve.search``, ``geo_app.serve.ogcapi``,
``geo_app.serve.accounts``, ``geo_app.production.workflow``).

Configuration (``instance/config.py``, ``test_config`` or the environment):

- ``SECRET_KEY``: when unset, a random key is created once in ``$GEO_APP_HOME/secret_key``.
- ``ANONYMOUS_ACCESS`` (env ``GEO_APP_ANONYMOUS``): ``map`` (default; anonymous visitors see the map,
  search and the OGC API of the public layers), ``map+user`` (also the user's own layers on the map:
  water sources, protection zones, karst units, water balance; logged-in users always see them) or
  ``none`` (everything needs a login). Drafts are never shown to anonymous visitors.
- ``BASEMAP_URL`` (env ``GEO_APP_BASEMAP_URL``): the online tile URL (OpenStreetMap by default);
  ``OFFLINE_MAP`` (env ``GEO_APP_OFFLINE_MAP=1``) removes the online basemap altogether.
- ``MAX_CONTENT_LENGTH``: the largest upload request in bytes (default 20 MiB of files + 64 KiB of
  form); other requests' bodies are smaller (``geo_app.serve.web.limits``).
- ``LOGIN_RATE_LIMIT`` / ``LOGIN_ADDRESS_RATE_LIMIT``: failed password checks allowed per account / per
  client address (default 10 / 30 per 15 minutes; ``geo_app.serve.login_limit``).
- ``BEHIND_PROXY`` (env ``GEO_APP_BEHIND_PROXY=1``): the app runs behind one reverse proxy (e.g. nginx
  terminating HTTPS); trust its ``X-Forwarded-For``, ``-Proto`` and ``-Host`` headers (werkzeug
  ``ProxyFix``, one hop) so cookies are marked Secure, HSTS is sent and the rate limit sees the real
  client address. Off by default: without a proxy those headers come from the client and are ignored.
  ``geo-app serve`` also tells waitress to trust that one hop (``geo_app.serve.web.server``), which
  otherwise removes the headers before the application sees them.
"""
from __future__ import annotations

import os
import secrets
import sys
from urllib.parse import urlsplit

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from geo_app.serve.web import (
    assets,
    auth,
    extensions,
    limits,
    map_view,
    ogc,
    product_map_views,
    users_views,
    workflow_views,
)
from geo_app.settings import settings

ANONYMOUS_CHOICES = ("map", "map+user", "none")
STATIC_ENDPOINTS = ("static", "assets.leaflet")


class _SessionInterface(SecureCookieSessionInterface):
    """Session cookie marked Secure whenever the request came over HTTPS (or when configured)."""

    def get_cookie_secure(self, app) -> bool:
        try:
            return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)
        except RuntimeError:  # outside a request
            return bool(app.config["SESSION_COOKIE_SECURE"])

    def save_session(self, app, session, response) -> None:
        # Static assets never touch the session (Flask-Login only peeks at it): leave their responses
        # without a cookie and without "Vary: Cookie", which would make browsers fetch them again
        # after every login or logout despite their Cache-Control (a year and ``immutable`` for the
        # versioned ``?v=`` URLs pages link; an hour for any other URL, e.g. the images Leaflet's CSS
        # loads: see geo_app.serve.web.assets).
        if request.endpoint in STATIC_ENDPOINTS and not session.modified:
            return None
        return super().save_session(app, session, response)


def _secret_key() -> str:
    path = settings().home / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(test_config: dict | None = None) -> Flask:
    # static files go through geo_app.serve.web.assets (gzip once in memory, ETag, versioned URLs)
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    env = settings()
    app.config.from_mapping(
        SECRET_KEY=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=limits.UPLOAD_BYTES,
        ANONYMOUS_ACCESS=env.anonymous,
        BASEMAP_URL=env.basemap_url,
        OFFLINE_MAP=env.offline_map,
        BEHIND_PROXY=env.behind_proxy,
        # failed password checks (geo_app.serve.login_limit): per account, and per client address
        LOGIN_RATE_LIMIT="10 per 15 minutes",
        LOGIN_ADDRESS_RATE_LIMIT="30 per 15 minutes",
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        BABEL_DEFAULT_LOCALE="vi",
        WTF_CSRF_TIME_LIMIT=None,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    if app.config["ANONYMOUS_ACCESS"] not in ANONYMOUS_CHOICES:
        raise ValueError(f"ANONYMOUS_ACCESS / GEO_APP_ANONYMOUS: '{app.config['ANONYMOUS_ACCESS']}' is not one of "
                         + ", ".join(ANONYMOUS_CHOICES))
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _secret_key()
    app.session_interface = _SessionInterface()
    if app.config["BEHIND_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    app.json.ensure_ascii = False

    extensions.init_app(app)
    app.register_blueprint(assets.bp)
    app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=assets.static_file)
    app.add_url_rule("/favicon.ico", endpoint="assets.favicon", view_func=assets.favicon)
    app.add_template_global(assets.asset_url, "asset_url")
    app.register_blueprint(auth.bp)
    app.register_blueprint(users_views.bp)
    app.register_blueprint(map_view.bp)
    app.register_blueprint(ogc.bp)
    app.register_blueprint(workflow_views.bp)
    app.register_blueprint(product_map_views.bp)
    app.config.setdefault("EXTRA_MAP_LAYERS", workflow_views.map_layer)
    app.after_request(_security_headers)

    if not app.testing:
        _first_start_hint()
    return app


def _security_headers(response):
    from flask import current_app

    img = ["'self'", "data:"]
    if not current_app.config["OFFLINE_MAP"] and current_app.config["BASEMAP_URL"]:
        parts = urlsplit(current_app.config["BASEMAP_URL"].replace("{s}", "a"))
        host = parts.netloc
        if "{s}" in current_app.config["BASEMAP_URL"]:
            host = "*." + host.split(".", 1)[1]
        img.append(f"{parts.scheme}://{host}")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src " + " ".join(img) + "; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # strict-origin-when-cross-origin: the OSM tile servers require a Referer, but get only the origin.
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    _private_pages(response)
    return response


def _private_pages(response) -> None:
    """What a logged-in user sees (drafts, their own layers, CSRF tokens) is kept by no cache, shared
    or the browser's: ``Cache-Control: private, no-store``. So are the login and account pages.
    Static assets stay public and cacheable: they are the same for everyone."""
    from flask_login import current_user

    endpoint = request.endpoint or ""
    if endpoint in STATIC_ENDPOINTS or endpoint.startswith("assets."):
        return
    if endpoint.startswith(("auth.", "users.")) or current_user.is_authenticated:
        response.headers["Cache-Control"] = "private, no-store"


def _first_start_hint() -> None:
    from geo_app.serve import accounts

    try:
        if accounts.count() == 0:
            print(
                "Chưa có tài khoản nào. Tạo quản trị viên đầu tiên: / No accounts yet. Create the first admin:\n"
                "    geo-app users add admin --role admin",
                file=sys.stderr,
            )
    except Exception as exc:  # pragma: no cover - a broken database must not stop the map
        print(f"accounts database: {exc}", file=sys.stderr)
