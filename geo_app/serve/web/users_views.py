"""Accounts in the web, for admins: ``/admin/users`` lists the accounts and their latest changes; an
admin adds a user, changes a role, disables or enables an account, and resets a password. A new or
reset account gets a temporary password, shown once in the answer to that form (never in a URL, a
cookie or a log) and to be changed at the next login. The core is ``geo_app.serve.accounts``, which
audits every change."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from geo_app.serve import accounts
from geo_app.serve.web.extensions import limiter, local_time, roles_required

bp = Blueprint("users", __name__, url_prefix="/admin")
#: Admin forms per client address (each is also behind an admin login and CSRF).
ADMIN_POST_LIMIT = "60 per minute"


def _page(status: int = 200, notice: str | None = None, error: str | None = None, temporary: dict | None = None):
    events = [{**e, "local": local_time(e["at"]), "words": accounts.ACTIONS.get(e["action"], (e["action"],) * 2)}
              for e in accounts.audit_log(50)]
    return render_template("admin_users.html", users=accounts.list_users(), roles=accounts.ROLES, events=events,
                           notice=notice, error=error, temporary=temporary), status


def _change(action, notice: str, temporary_for: str | None = None):
    """Run an account change and show the page again: with ``notice`` (and, for ``temporary_for``, the
    temporary password the action returned, this once), or a bad input's message (400)."""
    try:
        result = action()
    except accounts.AccountError as exc:
        return _page(400, error=exc.message)
    temporary = {"name": temporary_for, "password": result} if temporary_for else None
    return _page(notice=notice, temporary=temporary)


@bp.get("/users")
@roles_required("admin")
def admin_users():
    return _page()


@bp.post("/users")
@roles_required("admin")
@limiter.limit(ADMIN_POST_LIMIT)
def add_user():
    name, role = request.form.get("name", "").strip(), request.form.get("role", "")

    def add():
        password = accounts.temporary_password()
        accounts.add_user(name, role, password, actor=current_user.name, must_change_password=True)
        return password

    return _change(add, _("Đã tạo tài khoản %(name)s.", name=name), temporary_for=name)


@bp.post("/users/<name>/role")
@roles_required("admin")
@limiter.limit(ADMIN_POST_LIMIT)
def change_role(name: str):
    return _change(lambda: accounts.set_role(name, request.form.get("role", ""), current_user.name),
                   _("Đã đổi vai trò của %(name)s.", name=name))


@bp.post("/users/<name>/disable")
@roles_required("admin")
@limiter.limit(ADMIN_POST_LIMIT)
def disable(name: str):
    return _change(lambda: accounts.disable_user(name, actor=current_user.name),
                   _("Đã khóa tài khoản %(name)s; các phiên đăng nhập của tài khoản đã kết thúc.", name=name))


@bp.post("/users/<name>/enable")
@roles_required("admin")
@limiter.limit(ADMIN_POST_LIMIT)
def enable(name: str):
    return _change(lambda: accounts.enable_user(name, current_user.name), _("Đã mở khóa tài khoản %(name)s.", name=name))


@bp.post("/users/<name>/reset-password")
@roles_required("admin")
@limiter.limit(ADMIN_POST_LIMIT)
def reset_password(name: str):
    return _change(lambda: accounts.reset_password(name, current_user.name),
                   _("Đã đặt lại mật khẩu của %(name)s.", name=name), temporary_for=name)
