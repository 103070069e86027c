"""Login and logout. The accounts core is ``geo_app.serve.accounts``; failed password checks are
limited per account and per client address by ``geo_app.serve.login_limit`` (in the database)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import TooManyRequests

from geo_app.serve import accounts, login_limit
from geo_app.serve.web.extensions import WebUser

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("map.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("map.index")
    return target


def password_limits(name: str) -> dict[str, login_limit.Limit]:
    """The failure limits that apply to a password check for account ``name`` from this client
    (``request.remote_addr``: the client's own address, also behind the trusted proxy)."""
    config = current_app.config
    return {login_limit.account_key(name): login_limit.Limit.parse(config["LOGIN_RATE_LIMIT"]),
            login_limit.address_key(request.remote_addr): login_limit.Limit.parse(config["LOGIN_ADDRESS_RATE_LIMIT"])}


def refuse_if_limited(limits: dict[str, login_limit.Limit]) -> None:
    """429 (with Retry-After) while the account or the client address has too many recent failures."""
    wait = login_limit.retry_after(limits)
    if wait:
        raise TooManyRequests(retry_after=wait)


def check_password(name: str, password: str) -> accounts.User | None:
    """``accounts.authenticate`` under the failure limit: a failure counts for the account and the
    address; a success clears the account's failures."""
    limits = password_limits(name)
    refuse_if_limited(limits)
    user = accounts.authenticate(name, password)
    if user is None:
        login_limit.record_failure(limits)
    else:
        login_limit.clear(login_limit.account_key(name))
    return user


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    status = 200
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        password = request.form.get("password", "")
        if not name or not password:
            error, status = _("Nhập tên và mật khẩu (trường name, password)."), 400
        else:
            user = check_password(name, password)
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
