"""The one exception type that entry points turn into a one-line message and exit code 2."""


class UserError(Exception):
    """Bad input from the user (config, files, checkpoints): message names the what and the why."""
