"""Claims: a crash corpse is told from a live run by its owner, and only corpses are deleted."""
import socket
import subprocess
import sys

from augbench.benchmark.claims import TAG_DRIVER, clear_stale, owner_alive, owner_token
from augbench.benchmark.store import default_tracking_uri
from augbench.benchmark.tracking import Tracker
from augbench.reports.runs import TAG_OWNER, TAG_SUPERSEDED


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_owner_liveness():
    host = socket.gethostname()
    assert owner_alive(owner_token())
    assert not owner_alive(f"{host}:{_dead_pid()}")
    me = owner_token()
    if me.count(":") == 2:  # Linux: a recycled pid (same number, other start time) is not the owner
        assert not owner_alive(me.rsplit(":", 1)[0] + ":1")
    assert owner_alive(f"some-other-host:{_dead_pid()}")  # cannot tell: never delete another machine's work
    assert owner_alive("")


def test_clear_stale_deletes_only_corpses(tmp_path):
    tracker = Tracker(default_tracking_uri(tmp_path), "t", tmp_path / "artifacts")
    host, dead = socket.gethostname(), _dead_pid()
    alive = tracker.start("cell", "h1", "alive", params={})
    dead_owner = tracker.start("cell", "h1", "dead owner", params={}, tags={TAG_OWNER: f"{host}:{dead}"})
    dead_driver = tracker.start("cell", "h1", "dead driver", params={}, tags={TAG_DRIVER: f"{host}:{dead}"})
    failed = tracker.start("cell", "h1", "failed", params={})
    tracker.finish(failed, "FAILED")
    done = tracker.start("cell", "h1", "done", params={})
    tracker.finish(done)
    other = tracker.start("cell", "h2", "other cell", params={}, tags={TAG_OWNER: f"{host}:{dead}"})

    assert clear_stale(tracker, "cell", "h1") == 2
    left = {r.info.run_id: r for r in tracker.runs("cell", hash_="h1")}
    assert set(left) == {alive, failed, done} and not {dead_owner, dead_driver} & set(left)
    assert left[failed].data.tags[TAG_SUPERSEDED] == "true"
    assert TAG_SUPERSEDED not in left[done].data.tags
    assert tracker.finished("cell") == {"h1": done}
    assert [r.info.run_id for r in tracker.runs("cell", hash_="h2")] == [other]  # another cell: untouched

    clear_stale(tracker, "cell", "h1", supersede_finished=True)  # what --force does before a rerun
    assert tracker.finished("cell") == {}
