"""Claims: a crash corpse is told from a live run by its owner, and only corpses are deleted."""
import socket
import subprocess
import sys

from types import SimpleNamespace

from augbench.benchmark.claims import TAG_DRIVER, clear_lost_attempt, clear_stale, owner_alive, owner_token
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


def test_a_lost_attempts_runs_are_cleared_by_its_driver_even_from_another_host(tmp_path):
    """A Ray worker on another machine died mid-group: its claims cannot call that run dead, the driver
    that saw the task die can. Only this group's RUNNING runs of this driver go."""
    tracker = Tracker(default_tracking_uri(tmp_path), "t", tmp_path / "artifacts")
    me, worker = "head:100:5", "worker-node:4242:77"   # the worker's host is not this one
    fit = SimpleNamespace(hash="f1")
    cells = [SimpleNamespace(hash="c1"), SimpleNamespace(hash="c2")]
    fit_run = tracker.start("generator", "f1", "fit", params={}, tags={TAG_OWNER: worker, TAG_DRIVER: me})
    cell_run = tracker.start("cell", "c1", "cell", params={}, tags={TAG_OWNER: worker, TAG_DRIVER: me})
    finished = tracker.start("cell", "c2", "done before the death", params={}, tags={TAG_OWNER: worker,
                                                                                      TAG_DRIVER: me})
    tracker.finish(finished)
    other_driver = tracker.start("cell", "c1", "another grid's", params={}, tags={TAG_OWNER: worker,
                                                                                   TAG_DRIVER: "head:200:9"})
    other_group = tracker.start("cell", "c9", "another group", params={}, tags={TAG_OWNER: worker, TAG_DRIVER: me})

    assert clear_stale(tracker, "cell", "c1") == 0  # the retry's own claim: another host, cannot tell
    assert clear_lost_attempt(tracker, fit, cells, me) == 2
    left = {r.info.run_id for kind in ("generator", "cell") for r in tracker.runs(kind)}
    assert left == {finished, other_driver, other_group} and not {fit_run, cell_run} & left
