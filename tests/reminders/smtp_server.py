"""A real SMTP server for the tests (aiosmtpd, in a thread) that accepts, delays or refuses."""

import asyncio
import email
import socket
import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Behaviour:
    """What the server says to the next messages; tests change it as they go."""

    rcpt_reply: str | None = None  # e.g. "450 4.2.1 Mailbox busy"; None accepts
    data_reply: str | None = None  # e.g. "554 5.7.1 Rejected"; None accepts
    delay_seconds: float = 0.0  # pause inside DATA, before answering
    delay_on_message: int | None = None  # pause only on this message (1-based), else on all


@dataclass
class RecordingHandler:
    behaviour: Behaviour = field(default_factory=Behaviour)
    received: list = field(default_factory=list)
    data_started: int = 0
    in_data: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.behaviour.rcpt_reply:
            return self.behaviour.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.data_started += 1
            number = self.data_started
        delay_here = self.behaviour.delay_on_message in (None, number)
        if self.behaviour.delay_seconds and delay_here:
            self.in_data.set()
            await asyncio.sleep(self.behaviour.delay_seconds)
        if self.behaviour.data_reply:
            return self.behaviour.data_reply
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            self.received.append(message)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["Message-ID"] for m in self.received]


class SmtpServer:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.port = free_port()
        self.host = "127.0.0.1"
        self.controller = Controller(self.handler, hostname=self.host, port=self.port)

    @property
    def behaviour(self) -> Behaviour:
        return self.handler.behaviour

    @property
    def received(self) -> list:
        return self.handler.received

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
