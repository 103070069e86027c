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
"""
from __future__ import annotations

import copy

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
    options = dict(host=host, port=port, threads=threads, connection_limit=connection_limit,
                   channel_timeout=channel_timeout, cleanup_interval=min(10, channel_timeout),
                   asyncore_use_poll=True, max_request_body_size=(upload_bytes or UPLOAD_BYTES) + 1,
                   ident="geo-app", **kw)
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
