"""Reminders: what is due (rules), the outbox it goes through, and the mail backends.

- ``defaults``: the rules and their default days, audiences and wording per programme;
- ``rules``: plain functions of ``now`` that return what is due;
- ``outbox``: the queue with its unique key, and the send loop that sends each message once;
- ``backends``: outbox (keep and log), SMTP and GOV.UK Notify;
- ``tokens``: signed unsubscribe tokens and opting out;
- ``runs``: queueing what is due, as the command and the scheduler do it;
- ``audience``: who a reminder goes to; ``time``: London dates.

Nothing is imported here: the place ledger imports ``outbox``, and ``rules`` imports the
ledger.
"""
