"""Accounts in the web: /admin/users (admins) and /account (everyone), audited, with CSRF and the
login limit on password checks."""
from __future__ import annotations

import re
import uuid

import pytest
from support.web import PASSWORD, csrf_token, ensure_users, isolated_home, login


@pytest.fixture()
def home(store_home, tmp_path):
    with isolated_home(store_home, tmp_path / "home") as path:
        ensure_users()
        yield path


@pytest.fixture()
def web(home):
    from geo_app.serve.web import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "t"})


def _temporary(html: str) -> str:
    match = re.search(r'<code id="temporary-password">([^<]+)</code>', html)
    assert match, "the temporary password is shown"
    return match.group(1)


def test_admin_adds_user_who_must_change_the_temporary_password(web):
    from geo_app.serve import accounts

    admin = web.test_client()
    login(admin, "admin")
    token = csrf_token(admin, "/admin/users")
    name = f"new-{uuid.uuid4().hex[:6]}"
    assert admin.post("/admin/users", data={"name": name, "role": "officer"}).status_code == 400, "CSRF"
    resp = admin.post("/admin/users", data={"name": name, "role": "officer", "csrf_token": token})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "private, no-store"
    temporary = _temporary(html)
    assert temporary not in admin.get("/admin/users").get_data(as_text=True), "shown once"
    user = next(u for u in accounts.list_users() if u.name == name)
    assert user.role == "officer" and user.must_change_password

    newcomer = web.test_client()
    resp = newcomer.post("/login", data={"name": name, "password": temporary, "csrf_token": csrf_token(newcomer)})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/account")
    assert newcomer.get("/products/").headers["Location"].startswith("/account"), "nothing else until changed"
    assert 'id="who"' in newcomer.get("/account").get_data(as_text=True)
    assert newcomer.get("/ogcapi?f=json").status_code == 403
    token = csrf_token(newcomer, "/account")
    bad = newcomer.post("/account", data={"csrf_token": token, "current_password": temporary,
                                          "new_password": "a-new-pass-1", "new_password_again": "a-new-pass-2"})
    assert bad.status_code == 400 and "new_password_again" in bad.get_data(as_text=True)
    ok = newcomer.post("/account", data={"csrf_token": token, "current_password": temporary,
                                         "new_password": "a-new-pass-1", "new_password_again": "a-new-pass-1"})
    assert ok.status_code == 200 and "Đã đổi mật khẩu" in ok.get_data(as_text=True)
    assert newcomer.get("/products/").status_code == 200, "the session goes on after the change"
    assert accounts.authenticate(name, "a-new-pass-1") is not None and accounts.authenticate(name, temporary) is None
    actions = [(e["action"], e["actor"], e["target"]) for e in accounts.audit_log()]
    assert ("add", "u-admin", name) in actions and ("change-password", name, name) in actions


def test_admin_resets_changes_role_disables(web):
    from geo_app.serve import accounts

    name = f"reset-{uuid.uuid4().hex[:6]}"
    accounts.add_user(name, "viewer", PASSWORD)
    victim = web.test_client()
    assert victim.post("/login", data={"name": name, "password": PASSWORD,
                                       "csrf_token": csrf_token(victim)}).status_code == 302
    admin = web.test_client()
    login(admin, "admin")
    token = csrf_token(admin, "/admin/users")
    resp = admin.post(f"/admin/users/{name}/reset-password", data={"csrf_token": token})
    temporary = _temporary(resp.get_data(as_text=True))
    assert accounts.authenticate(name, PASSWORD) is None and accounts.authenticate(name, temporary) is not None
    assert 'id="who"' not in victim.get("/").get_data(as_text=True), "the reset ended the user's sessions"
    assert admin.post(f"/admin/users/{name}/role", data={"csrf_token": token, "role": "approver"}).status_code == 200
    assert accounts.authenticate(name, temporary).role == "approver"
    bad = admin.post(f"/admin/users/{name}/role", data={"csrf_token": token, "role": "king"})
    assert bad.status_code == 400 and "role" in bad.get_data(as_text=True)
    assert admin.post(f"/admin/users/{name}/disable", data={"csrf_token": token}).status_code == 200
    assert accounts.authenticate(name, temporary) is None
    page = admin.get("/admin/users").get_data(as_text=True)
    for words in ("Đặt lại mật khẩu (mật khẩu tạm)", "Đổi vai trò", "Khóa tài khoản", "viewer → approver"):
        assert words in page, words
    assert admin.post("/admin/users/no-such-user/disable", data={"csrf_token": token}).status_code == 400
    # the web never locks out the last active admin
    last = admin.post("/admin/users/u-admin/role", data={"csrf_token": token, "role": "viewer"})
    assert last.status_code == 400 and "last active admin" in last.get_data(as_text=True)


@pytest.mark.parametrize("role", [None, "viewer", "officer", "approver"])
def test_admin_pages_for_admins_only(web, role):
    client = web.test_client()
    login(client, role)
    resp = client.get("/admin/users")
    assert resp.status_code == (302 if role is None else 403)
    token = csrf_token(client, "/login")
    assert client.post("/admin/users/u-viewer/reset-password", data={"csrf_token": token}).status_code in (302, 403)


def test_own_password_check_is_under_the_login_limit(home):
    from geo_app.serve import accounts
    from geo_app.serve.web import create_app

    name = f"own-{uuid.uuid4().hex[:6]}"
    accounts.add_user(name, "viewer", PASSWORD)
    client = create_app({"TESTING": True, "SECRET_KEY": "t", "LOGIN_RATE_LIMIT": "2 per 10 minutes"}).test_client()
    assert client.post("/login", data={"name": name, "password": PASSWORD,
                                       "csrf_token": csrf_token(client)}).status_code == 302
    token = csrf_token(client, "/account")
    form = {"csrf_token": token, "current_password": "wrong-one", "new_password": "x" * 9, "new_password_again": "x" * 9}
    assert [client.post("/account", data=form).status_code for _ in range(3)] == [401, 401, 429]
    assert client.get("/account").status_code == 200
