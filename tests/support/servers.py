"""Servers the tests start themselves: the application under the production waitress set-up
(``geo_app.serve.web.server``) and a real nginx in front of it, through ``bench/servers.py`` (output to
a log file, stopped by their own process id, a failure names the server and quotes its log). No tests
here."""
from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
from servers import Server, free_port  # noqa: E402  (bench/servers.py: logs, own pids, loud failures)

NGINX = os.environ.get("GEO_APP_NGINX", "/usr/sbin/nginx")

APP_CODE = """
import json, sys
from geo_app.serve.web import create_app
from geo_app.serve.web.server import make_server
config, options = json.loads(sys.argv[1]), json.loads(sys.argv[2])
server = make_server(create_app(config), "127.0.0.1", int(sys.argv[3]), **options)
print("listening", flush=True)
server.run()
"""


def _answers(host: str, port: int, path: str = "/ogcapi/conformance", tls: bool = False) -> bool:
    conn = (http.client.HTTPSConnection(host, port, timeout=10, context=ssl._create_unverified_context()) if tls
            else http.client.HTTPConnection(host, port, timeout=10))
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    finally:
        conn.close()


@contextmanager
def app_server(home: Path, log_dir: Path, config: dict | None = None, **options):
    """The application under ``geo_app.serve.web.server.make_server`` in its own process; yields
    ``(port, server)``. ``options`` are make_server's keyword arguments (behind_proxy, …)."""
    port = free_port()
    config = {"SECRET_KEY": "live-test", "OFFLINE_MAP": True, **(config or {})}
    env = {**os.environ, "GEO_APP_HOME": str(home), "PYTHONPATH": str(REPO)}
    with Server(f"geo-app (waitress, port {port})",
                [sys.executable, "-c", APP_CODE, json.dumps(config), json.dumps(options), str(port)],
                Path(log_dir) / f"app-{port}.log", env) as server:
        server.wait_ready(lambda: _answers("127.0.0.1", port))
        yield port, server


NGINX_CONF = """
worker_processes 1;
{user}
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
{body}
    }}
}}
"""


def nginx_site(upstream_port: int) -> str:
    """The server block of docs/deployment.md, pointed at ``upstream_port``."""
    text = (REPO / "docs" / "deployment.md").read_text(encoding="utf-8")
    block = re.search(r"# --- geo-app location ---\n(.*?)# --- end ---", text, re.S)
    assert block, "docs/deployment.md carries the nginx example between its markers"
    return block.group(1).replace("127.0.0.1:8000", f"127.0.0.1:{upstream_port}")


@contextmanager
def nginx_proxy(upstream_port: int, folder: Path):
    """Debian's nginx terminating HTTPS (a self-signed certificate made here) on a free loopback port,
    in front of ``upstream_port`` with the configuration from docs/deployment.md; yields its port."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
                   check=True, capture_output=True)
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=folder, port=port, body=nginx_site(upstream_port),
                                      user="user root;" if os.geteuid() == 0 else ""))
    with Server(f"nginx (port {port})", [NGINX, "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log"),
                                        "-g", "daemon off;"], folder / "nginx.out") as server:
        server.wait_ready(lambda: _answers("127.0.0.1", port, tls=True))
        yield port


class Client:
    """A tiny HTTP(S) client with a cookie jar, connecting from a chosen loopback source address
    (127.0.0.0/8 is all loopback on Linux: each address is a different "client" for the server)."""

    def __init__(self, port: int, source: str = "127.0.0.1", tls: bool = False):
        self.port, self.source, self.tls = port, source, tls
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None):
        if self.tls:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=60, source_address=(self.source, 0),
                                               context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60, source_address=(self.source, 0))
        # Flask-WTF checks the Referer of HTTPS form posts against the host, as a browser sends it
        scheme = "https" if self.tls else "http"
        headers = {"Referer": f"{scheme}://127.0.0.1:{self.port}{path}", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        for value in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        resp.body = data
        return resp

    def csrf(self, path: str = "/login") -> str:
        html = self.request("GET", path).body.decode()
        return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)

    def login(self, name: str, password: str, headers: dict | None = None):
        return self.request("POST", "/login", {"name": name, "password": password, "csrf_token": self.csrf()},
                            headers=headers)
