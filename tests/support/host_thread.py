"""devhost serving the real ``function_app.py`` over HTTP on its own event-loop thread, for live-stack tests.

The clock is virtual and only the test moves it: interview slot waits and review deadlines stay where they
are unless a test advances time, so no candidate ends early while the test still wants to talk to it.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from devhost.clock import Clock
from devhost.engine import Engine
from devhost.functions import index_app
from devhost.server import HostOptions, RunningHost, serve


class HostThread:
    """devhost on a free loopback port; ``host_options`` go to :class:`devhost.server.HostOptions`."""

    def __init__(self, data_dir: Path, **host_options: Any) -> None:
        from function_app import app

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.engine = Engine(index_app(app), data_dir, clock=Clock.skipping(), durable=False)
        self.engine.skip_timers_when_idle = False
        options = HostOptions(data_dir=data_dir, port=0, timer_triggers=False, **host_options)
        self.running: RunningHost = self.run(serve(self.engine.index, self.engine, options))

    def run(self, coroutine: Any, timeout: float = 60) -> Any:
        """Run ``coroutine`` on the host's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        """Stop serving, then stop and close the loop."""
        self.run(self.running.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
