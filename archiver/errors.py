"""The one exception type the CLI turns into a one-line message."""


class ArchiverError(Exception):
    """A failure a user can act on; str() is the whole one-line message."""
