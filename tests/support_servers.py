"""Servers the tests start themselves: the application under the production waitress set-up
(``geo_app.serve.web.server``) and a real nginx in front of it. Each one writes its output to a log
file (a pipe nobody reads fills up and blocks the server), is stopped by its own process id, and a
server that does not come up fails the test naming it and quoting the end of its log. No tests here."""
from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until(ready, proc: subprocess.Popen, name: str, log: Path, seconds: float = 120) -> None:
    """Poll ``ready()`` until it is true; fail naming the server and its log when it exits or never answers."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if ready():
                return
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; last lines of {log}:\n{log_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not answer in {seconds:.0f} s; last lines of {log}:\n{log_tail(log)}")
        time.sleep(0.1)


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
    ``(port, process)``. ``options`` are make_server's keyword arguments (behind_proxy, …)."""
    port = free_port()
    log = Path(log_dir) / f"app-{port}.log"
    config = {"SECRET_KEY": "live-test", "OFFLINE_MAP": True, **(config or {})}
    env = {**os.environ, "GEO_APP_HOME": str(home), "PYTHONPATH": str(REPO)}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", APP_CODE, json.dumps(config), json.dumps(options), str(port)],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _answers("127.0.0.1", port), proc, f"geo-app (waitress, port {port})", log)
        yield port, proc
    finally:
        _stop(proc)


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
    log = folder / "error.log"
    with (folder / "nginx.out").open("wb") as out:
        proc = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(conf), "-e", str(log), "-g", "daemon off;"],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _answers("127.0.0.1", port, tls=True), proc, f"nginx (port {port})", log)
        yield port
    finally:
        _stop(proc)


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
