"""The GOV.UK Notify backend: what it sends, and how it reads Notify's errors."""

import pytest
from notifications_python_client.errors import HTTPError

from tracker.models import OutboxMessage
from tracker.reminders.backends import NotifyBackend, PermanentFailure, TemporaryFailure


class FakeResponse:
    def __init__(self, status_code, message):
        self.status_code = status_code
        self._message = message

    def json(self):
        return {"errors": [{"error": "Error", "message": self._message}]}


class FakeClient:
    def __init__(self, error=None):
        self.error = error
        self.calls = []

    def send_email_notification(self, **kwargs):
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {"id": "notification-1"}


def _message(template_id=None):
    return OutboxMessage(
        id=7,
        recipient="ada@example.com",
        subject="Hello",
        body="Dear Ada",
        personalisation={"participant_name": "Ada", "days_left": 14},
        notify_template_id=template_id,
    )


def test_notify_gets_the_template_the_personalisation_and_a_reference():
    client = FakeClient()
    backend = NotifyBackend(api_key="unused", default_template_id="default-id", client=client)

    assert backend.send(_message()) == "notification-1"
    assert client.calls == [
        {
            "email_address": "ada@example.com",
            "template_id": "default-id",
            "personalisation": {
                "participant_name": "Ada",
                "days_left": "14",
                "subject": "Hello",
                "body": "Dear Ada",
            },
            "reference": "outbox-7",
        }
    ]
    backend.send(_message("rule-template"))
    assert client.calls[-1]["template_id"] == "rule-template"


@pytest.mark.parametrize(
    ("status", "failure"),
    [
        (400, PermanentFailure),
        (403, TemporaryFailure),
        (429, TemporaryFailure),
        (500, TemporaryFailure),
        (503, TemporaryFailure),
    ],
)
def test_notify_errors_are_permanent_only_when_the_message_is_at_fault(status, failure):
    client = FakeClient(HTTPError(FakeResponse(status, "Not allowed")))
    backend = NotifyBackend(api_key="unused", default_template_id="t", client=client)

    with pytest.raises(failure, match=f"Notify {status}"):
        backend.send(_message())


def test_without_a_template_the_message_cannot_go_through_notify():
    backend = NotifyBackend(api_key="unused", default_template_id=None, client=FakeClient())
    with pytest.raises(PermanentFailure, match="No Notify template"):
        backend.send(_message())
