"""The one exception the domain raises for a rule broken by what a user asked for."""


class DomainError(Exception):
    """A request that breaks a rule: the message is fit to show, the field names the input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
