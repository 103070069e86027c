"""``geo-app serve`` in production: the application under waitress with limits that keep one
process answering when clients misbehave, and the proxy set-up.

- **Proxy**: with ``behind_proxy`` waitress trusts ``X-Forwarded-For``, ``-Proto`` and ``-Host``
  from exactly one hop, the proxy at ``trusted_proxy`` (loopback by default: nginx on the
  same machine). Without it waitress removes those headers (``clear_untrusted_proxy_headers``), so
  the application would see neither HTTPS nor the client's address.
- **Connections**: up to ``connection_limit`` open at once (waitress's default, 100, lets a hundred idle
  or half-open connections stop the server); they are watched with ``poll()`` (``select()`` cannot
  watch more than 1024 descriptors) and an idle one is closed after ``channel_timeout`` seconds.
  waitress reads requests in its event loop and hands only complete requests to the worker threads,
  so slow clients hold a connection, never a thread.
- **Bodies**: the size allowed for the path (:func:`geo_app.serve.web.limits.body_limit`) is checked
  against ``Content-Length`` as soon as the headers are in, and while a chunked body arrives: a
  larger body is answered 413 before it is read or written anywhere.
- **Several processes** (:func:`serve_workers`, ``geo-app serve --workers N``): the parent binds the port once
  and forks N workers that each run the same waitress server on that socket, so every limit above holds in
  each; the kernel hands each new connection to one of them. The parent only supervises: a worker that dies
  (a crash, ``kill -9``) is replaced, the others keep serving; SIGTERM or Ctrl-C stops them all. Workers share
  their state through the databases under ``GEO_APP_HOME`` (sessions are signed cookies checked against the
  accounts database, the login limit and the workflow are in SQLite); caches are per process and keyed by
  the store's version. gunicorn would give the same pre-fork model but not waitress's checks of the body size
  before it is read, nor its one-hop proxy trust, which the project relies on.
"""
from __future__ import annotations

import copy
import logging
import os
import signal
import socket
import time
from collections.abc import Callable

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import create_server

from geo_app.serve.web.limits import UPLOAD_BYTES, body_limit

THREADS = 8
CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT = 30
# the headers werkzeug's ProxyFix (applied by create_app with BEHIND_PROXY) reads too; the port travels
# in X-Forwarded-Host ("host:port"), as nginx's $http_host gives it
PROXY_HEADERS = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}


def _channel_class(upload_bytes: int):
    """An HTTP channel whose parser applies the per-path body limit to each request."""
    limited: dict[int, object] = {}

    class BodyLimitedParser(HTTPRequestParser):
        def parse_header(self, header_plus):
            super().parse_header(header_plus)
            limit = body_limit(self.path or "/", upload_bytes) + 1  # waitress refuses ``>= limit``
            adj = limited.get(limit)
            if adj is None:
                adj = copy.copy(self.adj)
                adj.max_request_body_size = limit
                limited[limit] = adj
            # the parser checks Content-Length (and a chunked body as it arrives) against this
            self.adj = adj

    class BodyLimitedChannel(HTTPChannel):
        parser_class = BodyLimitedParser

    return BodyLimitedChannel


def make_server(app, host: str = "127.0.0.1", port: int = 8000, *, behind_proxy: bool = False,
                trusted_proxy: str = "127.0.0.1", threads: int = THREADS, upload_bytes: int | None = None,
                connection_limit: int = CONNECTION_LIMIT, channel_timeout: int = CHANNEL_TIMEOUT, **kw):
    """A waitress server for ``app`` (call ``.run()``); see the module docstring for the limits."""
    options = dict(threads=threads, connection_limit=connection_limit,
                   channel_timeout=channel_timeout, cleanup_interval=min(10, channel_timeout),
                   asyncore_use_poll=True, max_request_body_size=(upload_bytes or UPLOAD_BYTES) + 1,
                   ident="geo-app", **kw)
    if "sockets" not in kw:  # a worker of serve_workers is given the parent's socket instead
        options.update(host=host, port=port)
    if behind_proxy:
        options.update(trusted_proxy=trusted_proxy, trusted_proxy_count=1, trusted_proxy_headers=PROXY_HEADERS,
                       clear_untrusted_proxy_headers=True)
    server = create_server(app, **options)
    server.channel_class = _channel_class(upload_bytes or UPLOAD_BYTES)
    return server


def serve(app, host: str, port: int, **kw) -> None:
    """Serve ``app`` until interrupted."""
    server = make_server(app, host, port, **kw)
    server.print_listen("Serving on http://{}:{}")
    server.run()


log = logging.getLogger(__name__)
#: A worker that dies sooner than this after its start is not restarted in a loop faster than once a second.
RESPAWN_PAUSE_S = 1.0


def serve_workers(make_app: Callable[[], object], host: str, port: int, workers: int, **kw) -> None:
    """Serve with ``workers`` processes sharing one listening socket; ``make_app`` runs in each worker
    (after the fork, so no database connection crosses processes). Returns when stopped by a signal."""
    listener = socket.create_server((host, port), backlog=2048)
    listener.setblocking(False)
    children: dict[int, float] = {}
    stopping = False

    def start_one() -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                make_server(make_app(), sockets=[listener], **kw).run()
            finally:
                os._exit(0)
        children[pid] = time.monotonic()

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(workers):
        start_one()
    print(f"Serving on http://{host}:{port} with {workers} worker processes", flush=True)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        started = children.pop(pid, None)
        if stopping or started is None:
            continue
        log.warning("worker %s ended (%s); starting another", pid, status)
        if time.monotonic() - started < RESPAWN_PAUSE_S:
            time.sleep(RESPAWN_PAUSE_S)  # a worker failing at start: do not spin
        start_one()
    listener.close()
