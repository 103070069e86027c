"""Login and logout. The accounts core is ``geo_app.serve.accounts``; failed password checks are
limited per account and per client address by ``geo_app.serve.login_limit`` (in the database)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import TooManyRequests

from geo_app.serve import accounts, login_limit
from geo_app.serve.web.extensions import LOGIN_REQUIRED, WebUser, is_api_path, json_requested

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
                target = _safe_next(request.form.get("next") or request.args.get("next"))
                if user.must_change_password:
                    return redirect(url_for("auth.account", next=target))
                return redirect(target)
    return render_template("login.html", error=error, next=request.args.get("next", "")), status


@bp.post("/logout")
@login_required
def logout():
    # end every session of this user server-side: a copy of the cookie no longer authenticates
    accounts.end_sessions(current_user.user.id)
    logout_user()
    session.clear()
    return redirect(url_for("map.index"))


#: What a user who must choose a new password may still reach.
OPEN_WHILE_MUST_CHANGE = ("auth.account", "auth.logout", "auth.login", "static")


@bp.before_app_request
def must_change_password():
    """After an admin's reset the temporary password opens only the account page."""
    if not current_user.is_authenticated or not current_user.user.must_change_password:
        return None
    endpoint = request.endpoint or ""
    if endpoint in OPEN_WHILE_MUST_CHANGE or endpoint.startswith("assets."):
        return None
    if json_requested() or is_api_path() or request.method != "GET":
        abort(403, description="Cần đổi mật khẩu tạm trước (trang /account). / Change the temporary password "
                               "first (page /account).")
    return redirect(url_for("auth.account", next=request.full_path))


@bp.route("/account", methods=["GET", "POST"])
def account():
    """Every user changes their own password: the current one (checked under the login limit), the new
    one twice. The other sessions of the account end; this one continues."""
    if not current_user.is_authenticated:
        if json_requested():
            abort(401, description=LOGIN_REQUIRED)
        return redirect(url_for("auth.login", next=request.full_path))
    error, notice, status = None, None, 200
    if request.method == "POST":
        current = request.form.get("current_password", "")
        new, again = request.form.get("new_password", ""), request.form.get("new_password_again", "")
        if not current or not new:
            error, status = _("Nhập mật khẩu hiện tại và mật khẩu mới (trường current_password, new_password)."), 400
        elif new != again:
            error, status = _("Hai lần nhập mật khẩu mới không khớp (trường new_password_again)."), 400
        elif check_password(current_user.name, current) is None:
            error, status = _("Mật khẩu hiện tại sai (trường current_password)."), 401
        else:
            try:
                user = accounts.change_own_password(current_user.user.id, new)
            except accounts.AccountError as exc:
                error, status = exc.message, 400
            else:
                login_user(WebUser(user))  # the new session version: this session goes on
                target = request.args.get("next")
                if target:
                    return redirect(_safe_next(target))
                notice = _("Đã đổi mật khẩu; các phiên đăng nhập khác đã kết thúc.")
    return render_template("account.html", error=error, notice=notice,
                           must_change=current_user.user.must_change_password), status
