"""Errors a user can fix.

The CLI prints a ``UserError`` as one line (problem + fix) with no traceback and a non-zero exit
code; anything else is a bug and keeps its traceback. Living in the lowest package lets every layer
raise it without breaking the one-way import flow.
"""


class UserError(Exception):
    """A problem with the user's input, stated together with how to fix it."""

    def __init__(self, problem: str, fix: str = ""):
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem}" + (f" Fix: {fix}" if fix else ""))


class DataError(UserError):
    """Missing, malformed or unreadable dataset files."""


class UnknownNameError(UserError):
    """A dataset, arm or classifier name that no registry knows."""
