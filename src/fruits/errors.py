"""Errors a user can act on. Raise `FruitsError("what is wrong; what to do")`: the CLI prints
the message on one line and exits with status 1, without a traceback."""


class FruitsError(Exception):
    """A problem with the input, the settings or the environment that the user can fix."""
