"""Bad input ends as one clear message (problem + fix), exit code 2, no traceback."""
import socket

import pytest

from augbench.benchmark.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("argv, needle", [
    (["run", "--dataset", "isci", "--preset", "smoke"], "did you mean 'isic'"),
    (["run", "--dataset", "synthetic", "--generators", "bagn", "--preset", "smoke"], "unknown generator 'bagn'"),
    (["run", "--dataset", "synthetic", "--classifiers", "resnet-18", "--preset", "smoke"], "unknown classifier"),
    (["run", "--dataset", "synthetic", "--budget", "0", "--preset", "smoke"], "budget 0 must be positive"),
    (["run", "--dataset", "synthetic", "--budget", "ten", "--preset", "smoke"], "is not a number"),
    (["run", "--dataset", "synthetic", "--preset", "tiny"], "unknown preset 'tiny'"),
    (["run", "--dataset", "synthetic", "--target", "lots", "--preset", "smoke"], "target 'lots'"),
    (["run", "--dataset", "synthetic", "--device", "cuda:3", "--preset", "smoke"], "no CUDA GPU"),
])
def test_user_errors_are_one_message(capsys, tmp_path, argv, needle):
    code, out, err = _run(capsys, *argv, "--out", str(tmp_path))
    assert code == 2
    assert needle in err
    assert "fix:" in err
    assert "Traceback" not in err + out


def test_image_size_and_classifier_minimum(capsys, tmp_path):
    code, _, err = _run(capsys, "run", "--dataset", "synthetic", "--generators", "none", "--image-size", "4",
                        "--preset", "smoke", "--out", str(tmp_path))
    assert code == 2 and "too small" in err
    code, _, err = _run(capsys, "run", "--dataset", "synthetic", "--generators", "none", "--classifiers",
                        "densenet121", "--image-size", "28", "--preset", "smoke", "--out", str(tmp_path))
    assert code == 2 and "at least 32 px" in err


def test_missing_data_dir(capsys, tmp_path):
    code, _, err = _run(capsys, "run", "--dataset", "pneumonia", "--generators", "none", "--preset", "smoke",
                        "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"))
    assert code == 2 and "fix:" in err and "Traceback" not in err


def test_unreachable_tracking_server(capsys, tmp_path):
    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = _run(capsys, "run", "--dataset", "synthetic", "--generators", "none", "--preset", "smoke",
                        "--tracking-uri", f"http://127.0.0.1:{port}", "--out", str(tmp_path))
    assert code == 2 and "unreachable" in err and "--tracking-uri" in err


def test_report_without_results(capsys, tmp_path):
    code, _, err = _run(capsys, "report", "--out", str(tmp_path))
    assert code == 2 and "benchmark run" in err


def test_presets_listed(capsys):
    code, out, _ = _run(capsys, "presets")
    assert code == 0 and {"smoke", "quick", "paper"} <= {line.split()[0] for line in out.splitlines()}
