"""What the API refuses before a route sees it, and error bodies that always serialize.

* A body over ``max_body_bytes`` is a 413 (read no further than the limit).
* A NUL character, in the URL or escaped in a JSON body (``\\u0000``), is a 422: Postgres
  cannot store one in text, and no field of the API needs one.
* A validation error echoes its input; an input that JSON cannot carry (NaN, infinity, a lone
  surrogate) is echoed as text instead, so a bad request is never a 500.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

NUL_MESSAGE = "NUL characters (\\u0000) are not accepted"


def json_safe(value: Any) -> Any:
    """``value`` with every float JSON cannot hold as text and every string re-encoded so that
    lone surrogates become visible escapes."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


async def _reply(send: Send, status: int, detail: Any, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


WRITES = {b"POST", b"PUT", b"PATCH", b"DELETE"}


class RequestGuard:
    """Pure ASGI middleware: body-size limit and NUL refusal (module docstring); and, where
    ``authorize`` is given (tokens are configured), a write to /v1 without a valid bearer token
    is refused (401, 403) before its body is read, so a malformed body is never judged first."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        authorize: Callable[[bytes | None, bool], tuple[int, str] | None] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.authorize = authorize

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        url = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if b"\x00" in url or b"%00" in url:
            await _reply(send, 422, [{"loc": ["query"], "msg": NUL_MESSAGE, "type": "value_error"}])
            return
        headers = dict(scope.get("headers", []))
        if self.authorize is not None and scope.get("path", "").startswith("/v1/"):
            refused = self.authorize(
                headers.get(b"authorization"), scope.get("method", "").encode() in WRITES
            )
            if refused is not None:
                status, detail = refused
                await _reply(send, status, detail, {"www-authenticate": "Bearer"} if status == 401 else None)
                return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _reply(send, 413, f"Request body over {self.max_body_bytes} bytes")
            return
        chunks, size = [], 0
        while True:  # bodies are small (bounded above): read it whole, check it, hand it on
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                await _reply(send, 413, f"Request body over {self.max_body_bytes} bytes")
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if b"\\u0000" in body.lower():
            await _reply(send, 422, [{"loc": ["body"], "msg": NUL_MESSAGE, "type": "value_error"}])
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
