"""`benchmark --version` and `benchmark list arms|classifiers|datasets`."""
import importlib.metadata
import re

import pytest

from augbench.benchmark.cli import main
from augbench.generators import ddpm, generator_names


def test_version_is_the_installed_distributions(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"augbench {importlib.metadata.version('augbench')}"


def _listed(capsys, kind) -> str:
    assert main(["list", kind]) == 0
    return capsys.readouterr().out


def test_every_arm_is_listed_with_its_settings_and_defaults(capsys):
    out = _listed(capsys, "arms")
    heads = re.findall(r"^(\S+) \((learned|no training)\)", out, flags=re.M)
    assert [h for h, _ in heads] == generator_names()
    assert dict(heads)["ddpm"] == "learned" and dict(heads)["none"] == "no training"
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("ddpm (learned)")))
    block = []
    for line in lines[start + 1:]:
        if not line.startswith("    "):
            break
        block.append(line)
    ddpm_block = "\n".join(block)
    for key in ("steps", "guidance_scale", "schedule"):  # the arm module's own DEFAULTS table
        assert f"    {key} = {ddpm.DEFAULTS[key]!r}" in ddpm_block


def test_classifiers_listed_with_min_size_and_the_training_settings(capsys):
    out = _listed(capsys, "classifiers")
    assert re.search(r"^densenet121 \(>= 32 px\)", out, flags=re.M)
    assert re.search(r"^small-cnn \(>= 8 px\)", out, flags=re.M)
    assert "    epochs = 5" in out  # the harness's default, not TrainConfig's 10 (settings.HARNESS_DEFAULTS)


def test_datasets_listed_and_data_list_says_the_same(capsys):
    out = _listed(capsys, "datasets")
    assert re.search(r"^isic\s+HAM10000", out, flags=re.M) and "folder:<arg>" in out
    assert main(["data", "list"]) == 0
    assert capsys.readouterr().out == out
