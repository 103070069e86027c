import sqlite3

import pytest
from click.testing import CliRunner
from support.web import PASSWORD, ROLE_USERS, csrf_token, ensure_users, login


def test_cli_users_add_hashes_with_argon2(store_home):
    from geo_app.cli import main
    from geo_app.serve import accounts

    runner = CliRunner()
    result = runner.invoke(main, ["users", "add", "cli-officer", "--role", "officer"], input="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(accounts.db_path()) as con:
        (hashed,) = con.execute("SELECT password_hash FROM users WHERE name='cli-officer'").fetchone()
    assert hashed.startswith("$argon2id$") and "s3cret-pass" not in hashed
    assert accounts.authenticate("cli-officer", "s3cret-pass").role == "officer"
    assert accounts.authenticate("cli-officer", "wrong") is None
    again = runner.invoke(main, ["users", "add", "cli-officer", "--role", "officer"], input="s3cret-pass\n")
    assert again.exit_code != 0 and "already exists" in again.output
    bad = runner.invoke(main, ["users", "add", "x y", "--role", "officer"], input="s3cret-pass\n")
    assert bad.exit_code != 0 and "name" in bad.output
    short = runner.invoke(main, ["users", "add", "shorty", "--role", "viewer"], input="abc\n")
    assert short.exit_code != 0 and "password" in short.output
    role = runner.invoke(main, ["users", "add", "r", "--role", "king"], input="s3cret-pass\n")
    assert role.exit_code != 0
    listed = runner.invoke(main, ["users", "list"])
    assert "cli-officer" in listed.output


def test_login_logout_and_cookie_flags(client):
    ensure_users()
    resp = login(client, "officer")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert ROLE_USERS["officer"] in client.get("/").get_data(as_text=True)
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert ROLE_USERS["officer"] not in client.get("/").get_data(as_text=True)


def test_session_cookie_secure_over_https(app):
    ensure_users()
    client = app.test_client()
    html = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    resp = client.post("/login", base_url="https://localhost",
                       data={"name": ROLE_USERS["viewer"], "password": PASSWORD, "csrf_token": token},
                       headers={"Referer": "https://localhost/login"})
    assert resp.status_code == 302
    assert "Secure" in resp.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in resp.headers


def test_wrong_password_and_missing_fields(client):
    ensure_users()
    token = csrf_token(client)
    resp = client.post("/login", data={"name": ROLE_USERS["viewer"], "password": "nope", "csrf_token": token})
    assert resp.status_code == 401 and "Sai tên hoặc mật khẩu" in resp.get_data(as_text=True)
    resp = client.post("/login", data={"name": "", "csrf_token": token})
    assert resp.status_code == 400 and "password" in resp.get_data(as_text=True)


def test_csrf_required_on_state_changing_requests(client):
    ensure_users()
    resp = client.post("/login", data={"name": ROLE_USERS["viewer"], "password": PASSWORD})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)
    login(client, "viewer")
    assert client.post("/logout").status_code == 400
    assert client.get("/logout").status_code == 405


def test_login_rate_limited(store_home):
    import uuid

    from geo_app.serve.web import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "t", "LOGIN_RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    token = csrf_token(client)
    name = f"x-{uuid.uuid4().hex[:8]}"  # the count is kept in the session's accounts database
    codes = [client.post("/login", data={"name": name, "password": "y", "csrf_token": token}).status_code
             for _ in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
    # the same count in another application (another process, or after a restart)
    again = create_app({"TESTING": True, "SECRET_KEY": "t", "LOGIN_RATE_LIMIT": "3 per minute"}).test_client()
    assert again.post("/login", data={"name": name, "password": "y", "csrf_token": csrf_token(again)}).status_code \
        == 429


def test_open_redirect_refused(client):
    ensure_users()
    token = csrf_token(client)
    resp = client.post("/login?next=https://evil.example/", data={"name": ROLE_USERS["viewer"], "password": PASSWORD,
                                                                  "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


@pytest.mark.parametrize("url", ["/", "/api/search?q=pha", "/ogcapi/collections", "/data/province.geojson?zoom=8"])
def test_anonymous_access_configurable(store_home, url):
    from geo_app.serve.web import create_app

    closed = create_app({"TESTING": True, "SECRET_KEY": "t", "ANONYMOUS_ACCESS": "none"}).test_client()
    resp = closed.get(url)
    assert resp.status_code in (302, 401)
    assert closed.get("/login").status_code == 200
    assert closed.get("/vendor/leaflet/leaflet.js").status_code == 200
    login(closed, "viewer")
    assert closed.get(url).status_code == 200
    opened = create_app({"TESTING": True, "SECRET_KEY": "t"}).test_client()
    assert opened.get(url).status_code == 200
