"""The one exception type the ``fcc`` command turns into a one-line message and exit 2."""


class UserError(ValueError):
    """Bad input from the user: the message names the problem and the fix, on one line."""
