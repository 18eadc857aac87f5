"""A small body cap for the forms anyone may post before signing in.

``/login``, ``/logout`` and ``/lang`` take a few short fields. A request announcing a
larger body (``Content-Length``) is answered 413 at once, before a byte of it is read;
one sent without a length (chunked) is read only up to the cap, then answered 413. Either
way the connection is closed, so the rest is never read. What is under the cap is handed
on to the app unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

#: the largest body a pre-sign-in form may have (a sign-in is well under 2 KiB)
SMALL_FORM_LIMIT = 16 * 1024
SMALL_FORM_PATHS = ("/login", "/logout", "/lang")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_TOO_LARGE = b"request body too large"


class SmallBodies:
    """ASGI middleware: POSTs to ``paths`` carry at most ``limit`` bytes, else 413."""

    def __init__(
        self, app, paths: Iterable[str] = SMALL_FORM_PATHS, limit: int = SMALL_FORM_LIMIT
    ) -> None:
        self.app = app
        self.paths = frozenset(paths)
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and (declared < 0 or declared > self.limit):
            await _refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body = message.get("body", b"")
            size += len(body)
            if size > self.limit:
                await _refuse(send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1  # a length that is not a number is refused like a huge one
    return None


async def _refuse(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(_TOO_LARGE)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _TOO_LARGE})
