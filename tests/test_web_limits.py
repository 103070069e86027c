"""Limits of `geo-app serve` (waitress set-up in geo_app.serve.web.server) on a live server: idle
connections, bodies refused before they are read, malformed paths, private pages, and the login limit
shared through the database (failures only, per account, across processes and restarts)."""
from __future__ import annotations

import socket
import uuid

import pytest
from support.servers import Client, app_server
from support.web import PASSWORD, ROLE_USERS, ensure_users, login


@pytest.fixture(scope="module")
def server(store_home, tmp_path_factory):
    ensure_users()
    with app_server(store_home, tmp_path_factory.mktemp("limits")) as (port, proc):
        yield port


def _raw(port: int, head: bytes, timeout: float = 60) -> bytes:
    """Send ``head`` (request line and headers, no body) and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def test_responsive_with_200_idle_connections(server):
    idle = []
    try:
        for i in range(200):
            sock = socket.create_connection(("127.0.0.1", server), timeout=60)
            if i % 2:
                sock.sendall(b"GET /ogcapi HTTP/1.1\r\nHost: x\r\n")  # half a request, never finished
            idle.append(sock)
        resp = Client(server).request("GET", "/ogcapi/conformance")
        assert resp.status == 200
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.parametrize("path,size", [("/login", 200 * 1024 * 1024), ("/login", 64 * 1024),
                                       ("/products/lon-den-van-ban/draft", 200 * 1024 * 1024),
                                       ("/products/lon-den-van-ban/draft", 22 * 1000 * 1000),
                                       ("/products/lon-den-van-ban/1/submit", 2 * 1024 * 1024)])
def test_body_over_the_limit_refused_before_it_is_sent(server, path, size):
    # only the headers are sent: the answer can only come from the Content-Length
    answer = _raw(server, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                          f"Content-Length: {size}\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_chunked_body_over_the_limit_refused(server):
    with socket.create_connection(("127.0.0.1", server), timeout=60) as sock:
        sock.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (8192, b"a" * 8192)
        answer = b""
        try:
            for _ in range(64):  # 512 KiB, far above the 16 KiB of a login form
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = sock.recv(65536)
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_upload_of_20_mb_is_let_through(server):
    """A body within the upload limit reaches the application (here it stops at the missing CSRF token)."""
    body = b"a=" + b"x" * (19 * 1024 * 1024)
    with socket.create_connection(("127.0.0.1", server), timeout=120) as sock:
        sock.sendall(f"POST /products/lon-den-van-ban/draft HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        sock.sendall(body)
        answer = sock.recv(65536)
    assert not answer.startswith(b"HTTP/1.1 413") and answer.startswith(b"HTTP/1.1 4"), answer[:200]


@pytest.mark.parametrize("path,size,status", [("/login", 64 * 1024, 413), ("/account", 64 * 1024, 413),
                                              ("/products/lon-den-van-ban/1/submit", 2 * 1024 * 1024, 413),
                                              ("/login", 8 * 1024, 400)])
def test_application_applies_the_same_body_limits(client, path, size, status):
    """Under any WSGI server: the per-path limit holds before the CSRF check reads the form."""
    resp = client.post(path, data={"name": "x" * size})
    assert resp.status_code == status, resp.get_data(as_text=True)[:200]


@pytest.mark.parametrize("url", ["/static/x%00y", "/static/map.js%00", "/vendor/leaflet/x%00y",
                                 "/vendor/leaflet/leaflet.js%00.png"])
def test_nul_bytes_in_asset_paths_are_404(client, url):
    assert client.get(url).status_code == 404


def test_authenticated_pages_private_no_store(client):
    anonymous = client.get("/")
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")
    login(client, "officer")
    for url in ("/", "/products/", "/products/lon-den-van-ban", "/data/communes.geojson?zoom=8", "/ogcapi?f=json"):
        resp = client.get(url)
        assert resp.status_code == 200 and resp.headers["Cache-Control"] == "private, no-store", url
    asset = client.get("/vendor/leaflet/leaflet.js")
    assert asset.headers["Cache-Control"].startswith("public"), "assets stay cacheable"
    assert client.get("/login").headers["Cache-Control"] == "private, no-store"


def test_login_limit_counts_failures_only_per_account_and_survives_restarts(store_home, tmp_path):
    from geo_app.serve import accounts

    name = f"limit-{uuid.uuid4().hex[:8]}"
    accounts.add_user(name, "viewer", PASSWORD)
    config = {"LOGIN_RATE_LIMIT": "3 per 10 minutes", "LOGIN_ADDRESS_RATE_LIMIT": "1000 per minute"}
    with app_server(store_home, tmp_path, config) as (port, _):
        client = Client(port)
        for _ in range(5):  # correct logins never count
            assert client.login(name, PASSWORD).status == 302
        for _ in range(3):
            assert Client(port).login(name, "wrong-password").status == 401
        refused = Client(port).login(name, PASSWORD)
        assert refused.status == 429 and int(refused.headers["Retry-After"]) > 60
        assert Client(port).login(ROLE_USERS["viewer"], PASSWORD).status == 302, "other accounts unaffected"
    # a new process (a restart, or a second worker) sees the same count
    with app_server(store_home, tmp_path, config) as (port, _):
        assert Client(port, "127.0.0.4").login(name, PASSWORD).status == 429


def test_silent_client_is_disconnected_after_the_channel_timeout(store_home, tmp_path):
    """A client that opens a connection and sends half a request, then nothing, is closed by the server
    (here after 2 s, ``channel_timeout``; 30 s in production) instead of holding the connection."""
    with app_server(store_home, tmp_path, channel_timeout=2) as (port, _):
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            sock.sendall(b"GET /ogcapi HTTP/1.1\r\nHost: x\r\n")
            assert sock.recv(1024) == b"", "the server closed the silent connection"
