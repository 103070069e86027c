"""Login and logout. The accounts core is ``geo_app.serve.accounts``."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from geo_app.serve import accounts
from geo_app.serve.web.extensions import WebUser, limiter

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("map.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("map.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    error = None
    status = 200
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        password = request.form.get("password", "")
        if not name or not password:
            error, status = _("Nhập tên và mật khẩu (trường name, password)."), 400
        else:
            user = accounts.authenticate(name, password)
            if user is None:
                error, status = _("Sai tên hoặc mật khẩu."), 401
            else:
                lang = session.get("lang")
                session.clear()  # a fresh session on login (no fixation)
                if lang:
                    session["lang"] = lang
                login_user(WebUser(user))
                return redirect(_safe_next(request.form.get("next") or request.args.get("next")))
    return render_template("login.html", error=error, next=request.args.get("next", "")), status


@bp.post("/logout")
@login_required
def logout():
    # end every session of this user server-side: a copy of the cookie no longer authenticates
    accounts.end_sessions(current_user.user.id)
    logout_user()
    session.clear()
    return redirect(url_for("map.index"))
