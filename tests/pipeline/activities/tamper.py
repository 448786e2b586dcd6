"""A loopback proxy in front of the OpenAI emulator that corrupts chosen chat completions.

The emulator validates its structured outputs, so it never violates a schema; the proxy lets a test make
the first answer invalid and watch the real SDK path (``parse`` → validation error → repair) handle it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web


@dataclass
class Tampering:
    """How many upcoming chat completions to corrupt, and what the proxy saw."""

    corrupt_next: int = 0
    replacement: str = '{"full_name": 42}'
    chat_requests: list[dict[str, object]] = field(default_factory=list)
    url: str = ""


@contextmanager
def tampering_proxy(upstream: str) -> Iterator[Tampering]:
    """Run the proxy on 127.0.0.1 (free port) in its own thread for the duration of the block."""
    state = Tampering()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner_box: list[web.AppRunner] = []

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, upstream.rstrip("/") + request.path_qs, data=body, headers=headers
            ) as upstream_response,
        ):
            payload = await upstream_response.read()
            status = upstream_response.status
            content_type = upstream_response.headers.get("Content-Type", "application/json")
        if request.path.endswith("/chat/completions"):
            state.chat_requests.append(json.loads(body))
            if status == 200 and state.corrupt_next > 0:
                state.corrupt_next -= 1
                completion = json.loads(payload)
                completion["choices"][0]["message"]["content"] = state.replacement
                payload = json.dumps(completion).encode()
        return web.Response(body=payload, status=status, content_type=content_type.split(";")[0])

    async def start() -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        state.url = f"http://127.0.0.1:{port}/"
        runner_box.append(runner)
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    ready.wait(10)
    try:
        yield state
    finally:
        asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
