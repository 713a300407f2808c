"""The one exception type that entry points turn into a one-line message and exit code 2."""


class UserError(Exception):
    """Bad input from the user (config, files, checkpoints): message names the what and the why."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text (its type name when it has none), for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
