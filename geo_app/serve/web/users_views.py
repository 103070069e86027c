"""Accounts in the web, for admins: ``/admin/users`` lists the accounts and their latest changes; an
admin adds a user, changes a role, disables or enables an account, and resets a password. A new or
reset account gets a temporary password, shown once in the answer to that form (never in a URL, a
cookie or a log) and to be changed at the next login. The core is ``geo_app.serve.accounts``, which
audits every change."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from geo_app.serve import accounts
from geo_app.serve.web.extensions import limiter, roles_required

bp = Blueprint("users", __name__, url_prefix="/admin")
LOCAL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
#: Admin forms per client address (each is also behind an admin login and CSRF).
ADMIN_POST_LIMIT = "60 per minute"


def local_time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(LOCAL_TIME).strftime("%d/%m/%Y %H:%M")


def _page(status: int = 200, notice: str | None = None, error: str | None = None, temporary: dict | None = None):
    events = [{**e, "local": local_time(e["at"]), "words": accounts.ACTIONS.get(e["action"], (e["action"],) * 2)}
              for e in accounts.audit_log(50)]
    return render_template("admin_users.html", users=accounts.list_users(), roles=accounts.ROLES, events=events,
                           notice=notice, error=error, temporary=temporary), status


def _act(action, *args):
    """Run an account change; a bad input is shown on the page (400) with the form kept."""
    try:
        return action(*args), None
    except accounts.AccountError as exc:
        return None, exc.message


@bp.get("/users")
@roles_required("admin")
def admin_users():
    return _page()


@bp.post("/users")
@roles_required("admin")
@limiter.limit(ADMIN_POST_LIMIT)
def add_user():
    name, role = request.form.get("name", "").strip(), request.form.get("role", "")
    password = accounts.temporary_password()
    user, error = _act(lambda: accounts.add_user(name, role, password, actor=current_user.name,
                                                 must_change_password=True))
    if error:
        return _page(400, error=error)
    return _page(notice=_("Đã tạo tài khoản %(name)s.", name=user.name), temporary={"name": user.name,
                                                                                   "password": password})


@bp.post("/users/<name>/role")
@roles_required("admin")
@limiter.limit(ADMIN_POST_LIMIT)
def change_role(name: str):
    _done, error = _act(accounts.set_role, name, request.form.get("role", ""), current_user.name)
    if error:
        return _page(400, error=error)
    return _page(notice=_("Đã đổi vai trò của %(name)s.", name=name))


@bp.post("/users/<name>/disable")
@roles_required("admin")
@limiter.limit(ADMIN_POST_LIMIT)
def disable(name: str):
    _done, error = _act(lambda: accounts.disable_user(name, actor=current_user.name))
    if error:
        return _page(400, error=error)
    return _page(notice=_("Đã khóa tài khoản %(name)s; các phiên đăng nhập của tài khoản đã kết thúc.", name=name))


@bp.post("/users/<name>/enable")
@roles_required("admin")
@limiter.limit(ADMIN_POST_LIMIT)
def enable(name: str):
    _done, error = _act(accounts.enable_user, name, current_user.name)
    if error:
        return _page(400, error=error)
    return _page(notice=_("Đã mở khóa tài khoản %(name)s.", name=name))


@bp.post("/users/<name>/reset-password")
@roles_required("admin")
@limiter.limit(ADMIN_POST_LIMIT)
def reset_password(name: str):
    password, error = _act(accounts.reset_password, name, current_user.name)
    if error:
        return _page(400, error=error)
    return _page(notice=_("Đã đặt lại mật khẩu của %(name)s.", name=name),
                 temporary={"name": name, "password": password})
