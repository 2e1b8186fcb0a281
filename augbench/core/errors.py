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


_DISK_REASONS = {"ENOSPC": "the disk is full", "EDQUOT": "the disk quota is exhausted",
                 "EFBIG": "a file hit the size limit", "EROFS": "the file system is read-only",
                 "EACCES": "permission denied", "EPERM": "permission denied"}


def disk_problem(exc: OSError, what: str, elsewhere: str) -> UserError | None:
    """A full, read-only or forbidden disk as a UserError (the user frees space or picks another
    folder); None for any other OSError, which stays a bug with its traceback."""
    import errno

    reason = next((text for name, text in _DISK_REASONS.items() if getattr(errno, name, None) == exc.errno), None)
    if reason is None:
        return None
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1), errno.EFBIG):
        fix = f"free space there, or point {elsewhere} at a disk with room."
    else:
        fix = f"make it writable, or point {elsewhere} at a writable folder."
    return UserError(f"cannot write {what}{where}: {reason}.", fix)
