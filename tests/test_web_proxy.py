"""GEO_APP_BEHIND_PROXY=1 end to end through a real nginx (Debian package) terminating HTTPS on a free
loopback port, in front of the application under the production waitress set-up: Secure cookie, HSTS,
https links, and the client's own address in the login limit."""
from __future__ import annotations

import os
import shutil
import sqlite3

import pytest
from support.servers import NGINX, Client, app_server, nginx_proxy
from support.web import PASSWORD, ROLE_USERS


@pytest.fixture(scope="module")
def proxied(store_home, tmp_path_factory):
    required = os.environ.get("CI", "").lower() in ("1", "true")
    if not os.path.exists(NGINX) or not shutil.which("openssl"):
        if required:
            pytest.fail(f"{NGINX} or openssl missing: apt-get install -y nginx openssl")
        pytest.skip(f"{NGINX} or openssl missing (apt-get install -y nginx)")
    from geo_app.serve import accounts

    logs = tmp_path_factory.mktemp("proxy")
    # a home of its own (its own accounts database, so the failures other tests make from 127.0.0.1 do not
    # count here), sharing the session's layer store
    home = logs / "home"
    home.mkdir()
    (home / "layers.gpkg").symlink_to(store_home / "layers.gpkg")
    for role, name in ROLE_USERS.items():
        accounts.add_user(name, role, PASSWORD, path=home / "web.sqlite3")
    # the address limit small enough to reach quickly; the account limit out of the way
    config = {"LOGIN_RATE_LIMIT": "1000 per minute", "LOGIN_ADDRESS_RATE_LIMIT": "3 per 10 minutes",
              "BEHIND_PROXY": True}
    with app_server(home, logs, config, behind_proxy=True) as (app_port, _):
        with nginx_proxy(app_port, logs / "nginx") as port:
            yield port, app_port, home


def test_https_through_nginx_secure_cookie_hsts_links(proxied):
    port, _, _ = proxied
    client = Client(port, tls=True)
    page = client.request("GET", "/login")
    assert page.status == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert page.headers["Cache-Control"] == "private, no-store"
    resp = client.login(ROLE_USERS["viewer"], PASSWORD)
    assert resp.status == 302, resp.body[:300]
    cookie = next(c for c in resp.headers.get_all("Set-Cookie") if c.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie
    import json

    links = json.loads(client.request("GET", "/ogcapi?f=json").body)["links"]
    assert links[0]["href"].startswith(f"https://127.0.0.1:{port}/ogcapi"), links[0]


def test_direct_request_with_forged_headers_is_not_trusted(proxied):
    """The application's own port, reached without nginx from another address: X-Forwarded-* are ignored."""
    _, app_port, _ = proxied
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "X-Forwarded-For": "203.0.113.9"}
    resp = Client(app_port, source="127.0.0.9").request("GET", "/login", headers=forged)
    assert resp.status == 200 and "Strict-Transport-Security" not in resp.headers


def test_login_limit_counts_the_clients_address_not_the_proxys(proxied):
    port, _, home = proxied
    attacker, other = Client(port, "127.0.0.2", tls=True), Client(port, "127.0.0.3", tls=True)
    for i in range(3):  # rotating names and forged X-Forwarded-For: nginx overwrites it with the real address
        resp = attacker.login(f"nobody-{i}", "wrong-password", headers={"X-Forwarded-For": f"198.51.100.{i}"})
        assert resp.status == 401, resp.status
    refused = attacker.login(ROLE_USERS["officer"], PASSWORD)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    # a different client behind the same proxy is not affected
    assert other.login(ROLE_USERS["officer"], PASSWORD).status == 302
    with sqlite3.connect(home / "web.sqlite3") as con:
        keys = {k for (k,) in con.execute("SELECT DISTINCT key FROM login_failures WHERE key LIKE 'address:%'")}
    assert "address:127.0.0.2" in keys
    assert not keys & {"address:127.0.0.1", "address:198.51.100.0"}, keys
