"""Resume: a grid killed with SIGKILL (during a generator fit, during classifier training) and rerun
ends with exactly the expected runs, each once; --force and --rerun-failed; a planted failure is
isolated; generator fits are reused across classifiers and reruns; CPU runs are deterministic."""
from collections import Counter

import pytest

from augbench.benchmark.cli import main
from augbench.benchmark.fit import fit_dir
from augbench.benchmark.store import default_tracking_uri
from tests.benchmark._runner_support import kill, run_argv, spec_for, start_cli, store_runs, tiny_preset, wait_for


def _finished(out, kind="cell"):
    return {r["hash"]: r["run_id"] for r in store_runs(out, kind) if r["status"] == "FINISHED" and not r["superseded"]}


@pytest.mark.slow
def test_sigkill_during_fit_and_training_then_resume(tmp_path, capsys):
    out, log = tmp_path / "out", tmp_path / "run.log"
    preset = tiny_preset(tmp_path, epochs=25, dcgan_steps=15)
    argv = run_argv(out, preset, generators="none,oversample,dcgan", budget="10,20")
    spec = spec_for(argv)
    cells = {c.hash for c in spec.cells()}
    fits = {f.hash for f in spec.fits()}
    dcgan_dirs = [fit_dir(f) for f in spec.fits() if f.arm == "dcgan"]
    assert len(cells) == 6 and len(fits) == 6

    # 1) kill -9 while a GAN is being fitted: its cache folder exists, its samples do not yet
    proc = start_cli(argv, log)
    wait_for(lambda: any(d.is_dir() and not (d / "samples.npz").exists() for d in dcgan_dirs), proc, log,
             "a dcgan fit started")
    kill(proc)
    kept_1 = _finished(out)
    assert not any((d / "samples.npz").exists() for d in dcgan_dirs)  # no half-written cache entry counts

    # 2) kill -9 while a classifier trains: a cell run is RUNNING (and more cells are done than before)
    proc = start_cli(argv, log)
    wait_for(lambda: len(_finished(out)) > len(kept_1) and any(r["status"] == "RUNNING" for r in store_runs(out)),
             proc, log, "a classifier cell running")
    kill(proc)
    kept_2 = _finished(out)
    assert set(kept_1.items()) <= set(kept_2.items())  # nothing finished was lost or redone
    assert any(r["status"] == "RUNNING" for r in store_runs(out))  # the corpse the rerun must clear

    # 3) the same command again (here in-process: the killed ones are gone) finishes the grid
    assert main(argv) == 0
    runs = store_runs(out, "cell")
    assert Counter(r["hash"] for r in runs) == Counter(cells)  # every expected cell exactly once
    assert {r["status"] for r in runs} == {"FINISHED"}
    assert set(kept_2.items()) <= set(_finished(out).items())  # finished before the kills: the very same runs
    fit_runs = store_runs(out, "generator")
    assert Counter(r["hash"] for r in fit_runs) == Counter(fits)
    assert {r["status"] for r in fit_runs} == {"FINISHED"}
    assert f"{len(kept_2)} already finished" in capsys.readouterr().out

    # 4) and once more: nothing to do, nothing added
    assert main(argv) == 0
    assert "6 already finished, 0 to run" in capsys.readouterr().out
    assert len(store_runs(out, "cell")) == 6


def test_planted_failures_are_isolated_and_rerun(tmp_path, monkeypatch, capsys):
    import mlflow

    from augbench.generators import GENERATORS, register_generator
    from augbench.generators.baselines import RandomOversampling

    class BrokenFit(RandomOversampling):
        def _fit(self, images, labels, *, seed, device, progress):
            raise RuntimeError("planted: the fit blows up")

    class BrokenCell(RandomOversampling):
        @property
        def class_weighted_loss(self):  # read only when the classifier cell starts: the fit itself is fine
            raise RuntimeError("planted: the cell blows up")

    monkeypatch.setattr(GENERATORS, "_entries", dict(GENERATORS._entries))  # the original comes back after
    for name, cls in (("test-broken-fit", BrokenFit), ("test-broken-cell", BrokenCell)):
        register_generator(name, order=999)(cls)
    out = tmp_path / "out"
    argv = run_argv(out, tiny_preset(tmp_path), generators="none,test-broken-fit,test-broken-cell,oversample")
    assert main(argv) == 1  # failures -> non-zero exit, after the whole grid ran
    printed = capsys.readouterr().out
    assert "2 cells finished now" in printed and "2 failed" in printed
    assert "planted: the fit blows up" in printed

    runs = store_runs(out)
    by_status = Counter(r["status"] for r in runs)
    assert by_status == {"FINISHED": 2, "FAILED": 2}
    client = mlflow.MlflowClient(default_tracking_uri(out))
    for run in (r for r in runs if r["status"] == "FAILED"):
        info = client.get_run(run["run_id"])
        assert info.data.tags["augbench.error"]
        text = client.download_artifacts(run["run_id"], "traceback.txt", str(tmp_path))
        assert "Traceback" in open(text).read()
    errors = {client.get_run(r["run_id"]).data.params["arm"]: client.get_run(r["run_id"]).data.tags["augbench.error"]
              for r in runs if r["status"] == "FAILED"}
    assert "the fit blows up" in errors["test-broken-fit"]
    assert "the cell blows up" in errors["test-broken-cell"]

    # rerun: the two finished cells are kept, only the failed ones run again (and fail again)
    assert main(argv) == 1
    assert "2 already finished, 2 to run" in capsys.readouterr().out
    assert main([*argv, "--rerun-failed"]) == 1
    assert "2 already finished, 2 to run" in capsys.readouterr().out
    runs = store_runs(out)
    assert Counter(r["status"] for r in runs) == {"FINISHED": 2, "FAILED": 6}  # old failures kept as history
    superseded = [r for r in runs if r["superseded"]]
    assert len(superseded) == 4 and all(r["status"] == "FAILED" for r in superseded)

    # --force recomputes: fits and cells run again; the earlier results are kept but marked superseded
    before = _finished(out)
    samples = {p: p.stat().st_mtime_ns for p in (out / "cache" / "fits").glob("*/samples.npz")}
    assert main([*argv, "--generators", "none,oversample", "--force"]) == 0
    rewritten = [p for p, t in samples.items() if p.stat().st_mtime_ns != t]
    assert len(rewritten) == 2  # none and oversample refitted, the broken-cell arm's fit untouched
    fit_runs = store_runs(out, "generator")
    assert sum(r["superseded"] for r in fit_runs) == 2 and sum(not r["superseded"] for r in fit_runs) == 3
    after = _finished(out)
    assert set(after) == set(before) and not set(after.values()) & set(before.values())
    old = {r["run_id"]: r["superseded"] for r in store_runs(out) if r["status"] == "FINISHED"}
    assert all(old[run_id] for run_id in before.values())


def _count_fits(monkeypatch):
    from augbench.generators.base import Generator

    calls = []
    original = Generator.fit

    def spy(self, *args, **kwargs):
        calls.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Generator, "fit", spy)
    return calls


def test_fits_are_shared_by_classifiers_and_reruns(tmp_path, monkeypatch):
    fits = _count_fits(monkeypatch)
    out = tmp_path / "out"
    preset = tiny_preset(tmp_path)

    def run(classifiers, arms):
        return main(run_argv(out, preset, "--image-size", "8", "--classifiers", classifiers, generators=arms))

    # two classifiers in one run: the arm is fitted once and both use its samples
    assert run("small-cnn,resnet18", "oversample") == 0
    assert fits == ["oversample"]
    samples = {p: p.stat().st_mtime_ns for p in (out / "cache" / "fits").glob("*/samples.npz")}
    assert len(samples) == 1 and len(_finished(out)) == 2

    # a new arm later: only it is fitted
    fits.clear()
    assert run("small-cnn", "none,oversample") == 0
    assert fits == ["none"]

    # a classifier added later: the cached samples serve it, nothing is refitted or rewritten
    fits.clear()
    assert run("small-cnn,resnet18", "none,oversample") == 0
    assert fits == []
    assert {p: p.stat().st_mtime_ns for p in samples} == samples
    assert len(_finished(out)) == 4
    fit_runs = store_runs(out, "generator")
    assert len(fit_runs) == 2 and len({r["hash"] for r in fit_runs}) == 2  # one run per fit, not per classifier


def test_cpu_runs_are_deterministic(tmp_path):
    """Same seed, two runs into fresh output folders (the second after other work in this process):
    identical metrics, to the last bit."""
    import mlflow
    import torch

    preset = tiny_preset(tmp_path)
    values = []
    threads = torch.get_num_threads()
    try:
        for name in ("a", "b"):
            out = tmp_path / name
            assert main(run_argv(out, preset, "--threads", "1", generators="none,classic")) == 0
            client = mlflow.MlflowClient(default_tracking_uri(out))
            runs = {r["hash"]: client.get_run(r["run_id"]).data.metrics for r in store_runs(out)}
            values.append({h: {k: v for k, v in m.items() if not k.startswith("time_") and not k.endswith("seconds")}
                           for h, m in runs.items()})
    finally:
        torch.set_num_threads(threads)
    assert len(values[0]) == 2 and values[0] == values[1]
    assert all("test_balanced_accuracy" in m for m in values[0].values())
