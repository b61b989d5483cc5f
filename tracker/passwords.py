"""What makes a password acceptable, after NCSC's and NIST's advice (SP 800-63B, 3.1.1.2).

Length, and not one that is easy to guess: not among the 30,000 most common passwords
(the list zxcvbn ships; nothing is fetched), nor one of them with digits or symbols added
at the end, nor one short piece repeated, nor the account's own email address. No rules of
composition (a capital, a digit, a symbol): they make passwords harder to remember, not to
guess. Three random words make a good one.
"""

import functools
import re

from tracker.errors import DomainError

MIN_PASSWORD_LENGTH = 12
# Long enough for any passphrase; short enough that hashing one costs nothing unusual.
MAX_PASSWORD_LENGTH = 256
# What a common password is often given at its end to pass rules like the ones above.
_ENDING = re.compile(r"[\d\W_]+$")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords (from leaked lists), lower case."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def _is_repeated_piece(password: str) -> bool:
    """One character, or a piece of up to three, repeated: "aaaaaaaaaaaa", "abcabcabcabc"."""
    return any(
        len(password) % size == 0 and password == password[:size] * (len(password) // size)
        for size in (1, 2, 3)
    )


def check_password(password: str, *, email: str | None = None) -> None:
    """Raise DomainError (naming the password field) if the password may not be used."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            f"Your password must be {MIN_PASSWORD_LENGTH} characters or more", field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(
            f"Your password must be {MAX_PASSWORD_LENGTH} characters or fewer", field="password"
        )
    if _is_repeated_piece(password):
        raise DomainError(
            "Your password must not be one character or a few characters repeated",
            field="password",
        )
    lowered = password.lower()
    core = _ENDING.sub("", lowered)
    if lowered in common_passwords() or (len(core) >= 4 and core in common_passwords()):
        raise DomainError(
            "Your password is too easy to guess: it is one of the most common passwords. "
            "Try three random words",
            field="password",
        )
    if email and lowered.strip() in {email.lower(), email.lower().partition("@")[0]}:
        raise DomainError("Your password must not be your email address", field="password")
