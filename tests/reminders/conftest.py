"""Fixtures for the reminders: a real SMTP server, and the SMTP backend pointed at it."""

import pytest

from tests.reminders.smtp_server import SmtpServer
from tracker.reminders.backends import SmtpBackend


@pytest.fixture
def smtp_server():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def smtp_backend(smtp_server):
    return SmtpBackend(
        host=smtp_server.host,
        port=smtp_server.port,
        mail_from="reminders@tracker.test",
        timeout=5,
    )
