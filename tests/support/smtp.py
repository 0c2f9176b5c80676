"""A real SMTP server for the notifications tests (aiosmtpd on 127.0.0.1, a free port), and the handler most of
them use: every message the server accepted, with its envelope recipients."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller

from tests.support.services import free_port


class Inbox:
    """aiosmtpd's handler: every message the server accepted, as (envelope recipients, raw bytes)."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


@contextmanager
def serving(handler: object) -> Iterator[int]:
    """An SMTP server handing each message to `handler` while the block runs; yields its port."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()
