"""Two worker processes that need the same one-off result make it once: the domain extractor is
trained by one and loaded by the other, an arm's cost for the FLOPs budget is measured by one.

Each child slows the work down so that the two overlap: without the locks both would do it."""
import json
import subprocess
import sys
import textwrap

import pytest

CHILD_DOMAIN = """
import json, sys, time
import numpy as np
import augbench.benchmark.fidelity.domain as domain
from augbench.datasets.types import Split

real_train = domain._train
def slow_train(*a, **k):
    time.sleep(4)
    return real_train(*a, **k)
domain._train = slow_train
with np.load(sys.argv[2]) as z:
    train = Split(z["train_images"][..., None], z["train_labels"].reshape(-1))
ex = domain.domain_extractor(train, 2, dataset_key="breastmnist", cache_dir=sys.argv[1], epochs=1, seed=0)
print(json.dumps({"from_cache": ex.from_cache}))
"""

CHILD_COMPUTE = """
import json, sys, time
import numpy as np
import augbench.benchmark.compute as compute

real_fit_cost = compute._fit_cost
calls = []
def slow_fit_cost(*a, **k):
    calls.append(1)
    time.sleep(1.5)
    return real_fit_cost(*a, **k)
compute._fit_cost = slow_fit_cost
rng = np.random.default_rng(0)
images = rng.integers(0, 256, (64, 28, 28, 1), dtype=np.uint8)
labels = np.arange(64) % 2
cost = compute.measure("dcgan", {"batch_size": 8, "base_channels": 8, "steps": 3}, images, labels, 2,
                       cache_dir=sys.argv[1])
print(json.dumps({"fits": len(calls), "unit_flops": cost.unit_flops}))
"""


def _two_at_once(code: str, *args) -> list[dict]:
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    return outs


@pytest.mark.timeout(400)
def test_the_domain_extractor_is_trained_by_one_worker_and_loaded_by_the_other(tmp_path, data_dir):
    outs = _two_at_once(CHILD_DOMAIN, tmp_path / "extractors", data_dir / "medmnist" / "breastmnist.npz")
    assert sorted(o["from_cache"] for o in outs) == [False, True]
    assert len(list((tmp_path / "extractors").glob("*.pt"))) == 1


@pytest.mark.timeout(400)
def test_an_arms_cost_is_measured_by_one_worker_and_read_by_the_other(tmp_path):
    outs = _two_at_once(CHILD_COMPUTE, tmp_path / "compute")
    assert sorted(o["fits"] for o in outs)[0] == 0 and sorted(o["fits"] for o in outs)[1] >= 2
    assert outs[0]["unit_flops"] == outs[1]["unit_flops"] > 0
    assert len(list((tmp_path / "compute").glob("*.json"))) == 1
