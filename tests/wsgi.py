"""One request straight into a WSGI app (optuna-dashboard's), for the tests that read it."""

from __future__ import annotations

import io
import json
from typing import Any


def call(app: Any, method: str, path: str, body: dict | None = None) -> tuple[str, Any]:
    """One request straight into a WSGI app: (status line, parsed JSON or text)."""
    data = json.dumps(body or {}).encode()
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "test",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    status: list[str] = []
    chunks = app(environ, lambda s, headers, exc_info=None: status.append(s))
    text = b"".join(chunks).decode()
    try:
        return status[0], json.loads(text)
    except json.JSONDecodeError:
        return status[0], text
