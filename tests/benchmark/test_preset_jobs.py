"""The preset's ``jobs``: how many fit groups run at once when --jobs is not given. It changes how a
grid runs, never what it computes, so it must not reach any hash."""
import pytest

from augbench.benchmark.cli import build_parser
from augbench.benchmark.executors import usable_cpus
from augbench.benchmark.gridfile import spec_from_args
from augbench.benchmark.run_resources import preset_jobs
from augbench.benchmark.settings import resolve_settings
from augbench.core.errors import UserError


def _resolve(*argv):
    return spec_from_args(build_parser().parse_args(["run", "--dataset", "pneumonia", "--preset", "smoke",
                                                     "--generators", "none,dcgan", "--budget", "10", *argv]))


def test_auto_is_one_job_per_usable_core_on_a_cpu_run():
    _, opts, shown = _resolve("--device", "cpu", "jobs=auto")
    assert opts["jobs"] == usable_cpus()
    if usable_cpus() > 1:
        assert f"process pool of {usable_cpus()}" in shown["executor"] and "1 torch threads each" in shown["executor"]


def test_the_flag_wins_over_the_preset_and_a_count_is_taken_as_is():
    assert _resolve("--device", "cpu", "--jobs", "1", "jobs=auto")[1]["jobs"] == 1
    assert _resolve("--device", "cpu", "jobs=3")[1]["jobs"] == 3
    assert _resolve("--device", "cpu")[1]["jobs"] == 1  # smoke sets none: sequential, as before


def test_auto_is_sequential_on_a_gpu_and_under_ray():
    assert preset_jobs("auto", "cuda:0", "local") == 1
    assert preset_jobs("auto", "cpu", "ray") == 1
    assert preset_jobs("auto", "cpu", "local") == usable_cpus()


@pytest.mark.parametrize("bad", [0, -2, "many", 1.5, True])
def test_a_bad_jobs_value_is_refused_naming_the_choices(bad):
    with pytest.raises(UserError, match="jobs is .*'auto'"):
        resolve_settings({"name": "x", "jobs": bad})


def test_jobs_is_not_part_of_any_cell_hash():
    one, _, _ = _resolve("--device", "cpu")
    auto, _, _ = _resolve("--device", "cpu", "jobs=auto")
    hashes = [[c.hash for fit in spec.fits() for c in fit.cells()] for spec in (one, auto)]
    assert hashes[0] and hashes[0] == hashes[1]
    # nor a reason to rename the preset, which would keep the report from pairing the runs
    assert auto.preset["name"] == one.preset["name"] == "smoke"
    renamed, _, _ = _resolve("--device", "cpu", "jobs=2", "classifier.epochs=3")
    assert renamed.preset["name"].startswith("smoke+custom-")
