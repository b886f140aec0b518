"""Domain errors: a rule of the clinic was broken, with a message fit for a person."""


class DomainError(Exception):
    """A rule of the clinic was broken; the message is fit to show to a person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
