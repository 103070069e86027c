"""How large a request body may be, by path: one rule for the WSGI server (which refuses a body
before reading it) and for the application (which refuses it again under any other server).

Only the upload form of a product takes files (≈21 MB: the 20 MiB of the file plus the multipart
envelope); the login and account forms take a few fields; every other form a boundary at most.
"""
from __future__ import annotations

import re

#: Uploads: a product's draft (files of a boundary): 20 MiB of files plus 64 KiB for the multipart
#: envelope and the form's fields, ≈ 21 MB. The application's default ``MAX_CONTENT_LENGTH``.
UPLOAD_BYTES = 20 * 1024 * 1024 + 64 * 1024
#: The login, account and user-admin forms: a name, a password, a token.
LOGIN_FORM_BYTES = 16 * 1024
#: Any other form or JSON body (a drawn boundary, a comment): at most a few hundred thousand vertices.
FORM_BYTES = 1024 * 1024

_UPLOAD_PATH = re.compile(r"^/products/[^/]+/draft/?$")
_LOGIN_PATH = re.compile(r"^/(login|logout|account|admin)(/|$)")


def is_upload_path(path: str) -> bool:
    return _UPLOAD_PATH.match(path) is not None


def body_limit(path: str, upload_bytes: int = UPLOAD_BYTES) -> int:
    """The largest body accepted for a request to ``path`` (the path without the query string);
    ``upload_bytes`` is the application's ``MAX_CONTENT_LENGTH``."""
    if is_upload_path(path):
        return upload_bytes
    if _LOGIN_PATH.match(path):
        return LOGIN_FORM_BYTES
    return FORM_BYTES
