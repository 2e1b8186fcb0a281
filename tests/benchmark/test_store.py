"""A locked store is waited out, not failed: lock errors are retried, every other error is not."""
import pytest

from augbench.benchmark import store
from augbench.benchmark.store import retrying


def test_lock_errors_are_retried_and_others_are_not(monkeypatch):
    monkeypatch.setattr(store.time, "sleep", lambda s: None)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 4:
            raise RuntimeError("(sqlite3.OperationalError) database is locked")
        return "ok"

    assert retrying(flaky) == "ok" and len(calls) == 4

    def broken():
        calls.append(1)
        raise ValueError("no such column")

    calls.clear()
    with pytest.raises(ValueError):
        retrying(broken)
    assert len(calls) == 1
