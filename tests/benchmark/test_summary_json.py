"""Streams a script can rely on: the closing summary as JSON (--json PATH) with its statistics,
tables on stdout and warnings on stderr, and `python -m augbench` as the `benchmark` command."""
import json
import subprocess
import sys

import pytest

from augbench.benchmark.cli import main


@pytest.mark.slow
def test_run_writes_the_summary_as_json_and_warnings_go_to_stderr(tmp_path, data_dir, capsys):
    out = tmp_path / "out"
    summary = tmp_path / "ci" / "summary.json"
    argv = ["run", "--dataset", "pneumonia", "--generators", "none,oversample", "--budget", "10", "--seeds", "0,1",
            "--preset", "smoke", "--data-dir", str(data_dir), "--out", str(out), "--no-progress",
            "--json", str(summary), "classifier.epochs=1"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    doc = json.loads(summary.read_text())
    assert doc["metric"] == "test_macro_auc" and doc["split"] == "test"
    assert doc["cells"]["finished_now"] == 4 and doc["cells"]["failed"] == []
    (table,) = doc["tables"]
    rows = {row["arm"]: row for row in table["rows"]}
    assert set(rows) == {"none", "oversample"}
    assert rows["none"]["n"] == 2 and 0.0 <= rows["none"]["mean"] <= 1.0
    over = rows["oversample"]
    assert over["ci_low"] <= over["estimate"] <= over["ci_high"] and "p_holm" in over and over["verdict"]
    assert any("n = number of seeds" in note for note in table["notes"])  # what each number is
    # the mean in the JSON is the one the printed table shows
    assert f"{rows['none']['mean']:.3f}" in captured.out
    assert "warning" not in captured.out.lower()


def test_python_dash_m_augbench_is_the_benchmark_command():
    done = subprocess.run([sys.executable, "-m", "augbench", "run", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--json PATH" in done.stdout and "--generators" in done.stdout
