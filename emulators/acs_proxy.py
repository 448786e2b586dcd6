"""A loopback HTTP CONNECT proxy that routes ``*.asm.skype.com`` to the ACS emulator's TLS port.

The Call Automation SDK refuses (before sending anything) to download or delete a recording whose URL is
not on an ACS recording host (``*.asm.skype.com``). The emulator therefore hands out recording URLs on
that domain, and an app reaches them with the SDK's ordinary proxy support, for example
``CallAutomationClient.from_connection_string(conn, proxies={"https": proxy_url}, connection_verify=ca)``
or ``HTTPS_PROXY=proxy_url`` with ``NO_PROXY=127.0.0.1,localhost``. TLS stays end to end (the emulator's
certificate carries ``*.asm.skype.com``); the proxy only moves bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

LOGGER = logging.getLogger(__name__)
ALLOWED_SUFFIX = ".asm.skype.com"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})


class ConnectProxy:
    """Tunnels recording hosts to ``127.0.0.1:target_port`` and loopback to itself; refuses the rest."""

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self._target_port = target_port
        self._host = host
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` once started."""
        if self._server is None:
            raise RuntimeError("proxy not started")
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{self._host}:{port}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._serve, self._host, 0)

    async def stop(self) -> None:
        """Stop listening and cut open tunnels."""
        if self._server is not None:
            self._server.close()
        # Aborting the sockets ends the pumps; cancelling the handler tasks instead makes asyncio log noise.
        for writer in list(self._writers):
            writer.transport.abort()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._tunnel(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split()
        if len(parts) != 3 or parts[0].upper() != "CONNECT":
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        host, _, port_text = parts[1].rpartition(":")
        host = host.strip("[]").lower()
        if host.endswith(ALLOWED_SUFFIX):
            target_port = self._target_port
        elif host in _LOOPBACK_HOSTS and port_text.isdigit():
            # A client configured with the proxy also sends its Call Automation requests through it.
            target_port = int(port_text)
        else:
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target_port)
        self._writers.add(upstream_writer)
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await writer.drain()

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while chunk := await source.read(256 * 1024):
                    sink.write(chunk)
                    await sink.drain()
            finally:
                with contextlib.suppress(Exception):
                    sink.close()

        try:
            await asyncio.gather(pump(reader, upstream_writer), pump(upstream_reader, writer))
        finally:
            self._writers.discard(upstream_writer)
            upstream_writer.close()
