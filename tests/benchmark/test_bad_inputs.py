"""A catalogue of bad inputs: each ends as one `error: ...` line and one `fix: ...` line, exit code 2,
no traceback, and the finished runs already in the store are still there afterwards.

Inputs are built from the real files in $BENCHMARK_DATA_DIR (BreastMNIST npz, HAM10000 JPEGs). Every
case fails in validation, before the first cell, so the whole catalogue trains only the one smoke
cell that seeds the shared store (and the two tiny grids of the concurrency case).

Disk cases run the CLI in a private mount namespace (`unshare -m`) on a tmpfs: a real ENOSPC from a
filled 256 KiB tmpfs for "full disk", a tmpfs mounted read-only for "read-only output folder" (root
ignores permission bits, a read-only mount it cannot). Without unshare/mount rights they are skipped.
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from augbench.benchmark.cli import main
from tests.benchmark._runner_support import REPO, env

DATA = Path(os.environ.get("BENCHMARK_DATA_DIR", "/work/shared/data"))
BREAST = DATA / "medmnist" / "breastmnist.npz"
HAM = DATA / "ham10000" / "images"

pytestmark = pytest.mark.skipif(not BREAST.is_file() or not HAM.is_dir(),
                                reason="needs breastmnist.npz and HAM10000 images under $BENCHMARK_DATA_DIR")

SMOKE = ["--preset", "smoke", "--generators", "none", "--budget", "10", "--device", "cpu", "--no-progress"]


# --- inputs built from real files ----------------------------------------------------------------------
def _ham_files(n: int, offset: int = 0) -> list[Path]:
    return sorted(HAM.glob("*.jpg"))[offset:offset + n]


def _tree(root: Path, sizes: dict[str, int]) -> Path:
    """A class-per-folder tree of real HAM10000 JPEGs (different images in every class)."""
    offset = 0
    for name, n in sizes.items():
        folder = root / name
        folder.mkdir(parents=True)
        for src in _ham_files(n, offset):
            shutil.copy(src, folder / src.name)
        offset += n
    return root


def _bomb_png(path: Path, side: int = 30000) -> None:
    """A real 8x8 PNG whose header claims side x side pixels: PIL refuses it as a decompression bomb."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    start = 8  # PNG signature; then length(4) type(4) IHDR data(13) crc(4)
    assert data[start + 4:start + 8] == b"IHDR"
    ihdr = bytearray(data[start + 8:start + 21])
    ihdr[0:8] = struct.pack(">II", side, side)
    data[start + 8:start + 21] = ihdr
    data[start + 21:start + 25] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)))
    path.write_bytes(bytes(data))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Shared inputs, and a store holding one finished smoke cell that no bad input may lose."""
    root = tmp_path_factory.mktemp("bad-inputs")
    good = _tree(root / "good", {"akiec": 9, "nv": 14})
    trees = {}
    for kind in ("corrupt", "truncated", "bomb"):
        tree = _tree(root / kind, {"akiec": 9, "nv": 14})
        victim = tree / "akiec" / f"{kind}.png"
        if kind == "corrupt":
            victim.write_bytes(b"this is not a PNG, whatever its name says\n" * 10)
        elif kind == "truncated":
            victim = victim.with_suffix(".jpg")
            src = _ham_files(1, 100)[0].read_bytes()
            victim.write_bytes(src[: len(src) // 3])
        else:
            _bomb_png(victim)
        trees[kind] = tree
    trees["empty-class"] = _tree(root / "empty-class", {"akiec": 9, "nv": 14})
    (trees["empty-class"] / "df").mkdir()
    trees["one-class"] = _tree(root / "one-class", {"nv": 10})
    trees["balanced"] = _tree(root / "balanced", {"akiec": 10, "nv": 10})

    (root / "garbage.npz").write_bytes(b"not a zip archive at all\n" * 40)
    (root / "truncated.npz").write_bytes(BREAST.read_bytes()[:50_000])
    np.savez(root / "wrong-keys.npz", images=np.zeros((4, 28, 28), np.uint8), labels=np.zeros(4, np.int64))
    (root / "a-file").write_text("not a folder\n")
    (root / "bad-store").mkdir()
    (root / "bad-store" / "mlflow.db").write_bytes(b"a text file where the MLflow store should be\n" * 20)

    grids = {
        "syntax": "dataset: breast\nbudgets: [10, 50\n",
        "unknown-key": "dataset: breast\nbudgts: 10\n",
        "a-list": "- dataset: breast\n- budgets: 10\n",
        "wrong-type": "dataset: breast\njobs: many\n",
        "override-key": "dataset: breast\noverrides:\n  clasifier: {epochs: 2}\n",
        "override-arm": "dataset: breast\noverrides:\n  generators: {dcgn: {steps: 5}}\n",
        "arm-setting-type": "dataset: breast\noverrides:\n  generators: {dcgan: {steps: many}}\n",
    }
    for name, text in grids.items():
        (root / f"grid-{name}.yaml").write_text(text)
    (root / "broken-preset.yaml").write_text("classifier: {epochs: 2\n")

    store = root / "store"
    code, out, err = _main(["run", "--dataset", "breast", *SMOKE, "--out", str(store)])
    assert code == 0, out + err
    finished = _finished(store)
    assert len(finished) == 1
    # the same store as if a newer augbench had written its grid
    newer = root / "newer-store"
    newer.mkdir()
    src, dst = sqlite3.connect(store / "mlflow.db"), sqlite3.connect(newer / "mlflow.db")
    src.backup(dst)  # the store is in WAL mode: a file copy could miss what is still in its -wal
    src.close()
    assert dst.execute("UPDATE tags SET value = '999.0' WHERE key = 'augbench.version'").rowcount > 0
    dst.commit()
    dst.close()
    return {"root": root, "good": good, "trees": trees, "store": store, "finished": finished}


def _main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _finished(store: Path) -> dict[str, str]:
    """run id -> cell hash of every FINISHED cell run in the store (read straight from SQLite)."""
    query = """SELECT r.run_uuid, h.value FROM runs r
               JOIN tags k ON k.run_uuid = r.run_uuid AND k.key = 'augbench.kind' AND k.value = 'cell'
               JOIN tags h ON h.run_uuid = r.run_uuid AND h.key = 'augbench.hash'
               WHERE r.status = 'FINISHED' AND r.lifecycle_stage = 'active'"""
    with sqlite3.connect(store / "mlflow.db", timeout=30) as con:
        return dict(con.execute(query).fetchall())


def assert_one_clear_error(code: int, out: str, err: str, needle: str) -> None:
    assert "Traceback" not in out + err, err
    assert code == 2, (code, out[-2000:], err[-2000:])
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    fixes = [line for line in err.splitlines() if line.strip().startswith("fix: ")]
    assert len(errors) == 1 and len(fixes) == 1, err
    assert len(fixes[0].strip()) > len("fix: ") + 10, err  # a fix that says something
    assert needle in errors[0] + fixes[0], err  # the problem, or its fix (e.g. 'did you mean')


# --- the catalogue: (id, argv builder, words the error line must contain, extra environment) -------------
def _run(w, *extra, dataset="breast", out=None):
    return ["run", "--dataset", dataset, *SMOKE, "--out", str(out or w["store"]), *extra]


def _tree_run(kind):
    return lambda w: _run(w, dataset=f"folder:{w['trees'][kind]}")


CASES = [
    ("corrupt-image", _tree_run("corrupt"), "cannot read image", None),
    ("truncated-image", _tree_run("truncated"), "truncated", None),
    ("decompression-bomb", _tree_run("bomb"), "too large to decode safely", None),
    ("empty-class-folder", _tree_run("empty-class"), "contains no PNG/JPEG images", None),
    ("one-class-tree", _tree_run("one-class"), "class subfolder(s)", None),
    ("balanced-tree-no-minority", _tree_run("balanced"), "has no minority class", None),
    ("missing-image-folder", lambda w: _run(w, dataset=f"folder:{w['root'] / 'nowhere'}"), "does not exist", None),
    ("missing-data-dir-flag", lambda w: _run(w, "--data-dir", str(w["root"] / "nowhere")), "(from --data-dir)", None),
    ("missing-data-dir-env", lambda w: _run(w), "(from $BENCHMARK_DATA_DIR)", {"BENCHMARK_DATA_DIR": "/nowhere/at/all"}),
    ("unknown-dataset", lambda w: _run(w, dataset="pneumona"), "did you mean 'pneumonia'", None),
    ("unknown-generator", lambda w: _run(w, "--generators", "bagn"), "unknown generator 'bagn'", None),
    ("unknown-classifier", lambda w: _run(w, "--classifiers", "resnet-18"), "unknown classifier", None),
    ("unknown-minority", lambda w: _run(w, "--minority", "cats"), "'malignant', 'normal, benign'", None),
    ("minority-every-class", lambda w: _run(w, "--minority", "0,1"), "names every class", None),
    ("budget-zero", lambda w: _run(w, "--budget", "0"), "budget 0 must be positive", None),
    ("budget-negative", lambda w: _run(w, "--budget", "-5"), "must be positive", None),
    ("budget-word", lambda w: _run(w, "--budget", "ten"), "is not a number", None),
    ("seeds-words", lambda w: _run(w, "--seeds", "a,b"), "are not integers", None),
    ("seed-negative", lambda w: _run(w, "--seeds", "0,-1"), "seed -1 is negative", None),
    ("target-word", lambda w: _run(w, "--target", "lots"), "target 'lots'", None),
    ("target-zero", lambda w: _run(w, "--target", "0"), "target '0'", None),
    ("unknown-preset", lambda w: _run(w, "--preset", "tiny"), "unknown preset 'tiny'", None),
    ("preset-bad-yaml", lambda w: _run(w, "--preset", str(w["root"] / "broken-preset.yaml")), "not valid YAML", None),
    ("image-size-too-small", lambda w: _run(w, "--image-size", "4"), "too small", None),
    ("jobs-zero", lambda w: _run(w, "--jobs", "0"), "--jobs 0", None),
    ("grid-missing", lambda w: _run(w, "--config", str(w["root"] / "nope.yaml")), "not found", None),
    ("grid-syntax", lambda w: _run(w, "--config", str(w["root"] / "grid-syntax.yaml")), "not valid YAML at line", None),
    ("grid-unknown-key", lambda w: _run(w, "--config", str(w["root"] / "grid-unknown-key.yaml")),
     "did you mean 'budgets'", None),
    ("grid-not-a-mapping", lambda w: _run(w, "--config", str(w["root"] / "grid-a-list.yaml")), "not a mapping", None),
    ("grid-wrong-type", lambda w: _run(w, "--config", str(w["root"] / "grid-wrong-type.yaml")),
     "jobs is 'many', not a whole number", None),
    ("grid-override-unknown-key", lambda w: _run(w, "--config", str(w["root"] / "grid-override-key.yaml")),
     "did you mean 'classifier'", None),
    ("grid-override-unknown-arm", lambda w: _run(w, "--config", str(w["root"] / "grid-override-arm.yaml")),
     "unknown generator 'dcgn'", None),
    ("grid-arm-setting-wrong-type", lambda w: _run(w, "--generators", "dcgan", "--config",
                                                   str(w["root"] / "grid-arm-setting-type.yaml")),
     "generators.dcgan.steps is 'many', not a number", None),
    ("store-from-a-newer-version", lambda w: _run(w, out=w["root"] / "newer-store"),
     "written by augbench 999.0, newer than this", None),
    ("npz-garbage", lambda w: _run(w, dataset=f"medmnist:{w['root'] / 'garbage.npz'}"), "is not an .npz file", None),
    ("npz-truncated", lambda w: _run(w, dataset=f"medmnist:{w['root'] / 'truncated.npz'}"), "not an intact .npz", None),
    ("npz-wrong-keys", lambda w: _run(w, dataset=f"medmnist:{w['root'] / 'wrong-keys.npz'}"),
     "is not a MedMNIST file", None),
    ("npz-missing", lambda w: _run(w, dataset=f"medmnist:{w['root'] / 'absent.npz'}"), "absent.npz", None),
    ("out-is-a-file", lambda w: _run(w, out=w["root"] / "a-file"), "is a file, not a folder", None),
    ("out-under-a-file", lambda w: _run(w, out=w["root"] / "a-file" / "out"), "lies under a file", None),
    ("tracking-server-unreachable", lambda w: _run(w, "--tracking-uri", f"http://127.0.0.1:{_closed_port()}"),
     "unreachable", None),
    ("store-not-sqlite", lambda w: _run(w, out=w["root"] / "bad-store"), "is not an SQLite database", None),
    ("report-without-store", lambda w: ["report", "--out", str(w["root"] / "no-store")], "no results under", None),
    ("report-store-not-sqlite", lambda w: ["report", "--out", str(w["root"] / "bad-store")],
     "is not an SQLite database", None),
    ("report-unknown-metric", lambda w: ["report", "--out", str(w["store"]), "--metric", "nonsense"],
     "metric 'nonsense' was not logged", None),
    ("report-unknown-format", lambda w: ["report", "--out", str(w["store"]), "--format", "pdf"],
     "unknown report format", None),
]


@pytest.mark.parametrize("argv_of, needle, environ", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_error(work, monkeypatch, argv_of, needle, environ):
    for key, value in (environ or {}).items():
        monkeypatch.setenv(key, value)
    assert_one_clear_error(*_main(argv_of(work)), needle)
    assert _finished(work["store"]) == work["finished"]  # nothing finished was lost or touched


def test_catalogue_is_large_enough():
    assert len(CASES) + 3 >= 25  # + full disk, read-only folder, two grids (below)


def test_the_good_tree_loads(work):
    """Control: the trees above fail only because of what was planted in them."""
    code, out, err = _main(_run(work, "--dry-run", dataset=f"folder:{work['good']}"))
    assert code == 0, err
    from augbench.benchmark.gridfile import spec_from_args
    from augbench.benchmark.cli import build_parser
    from augbench.benchmark.runner import validate

    spec = spec_from_args(build_parser().parse_args(_run(work, dataset=f"folder:{work['good']}")))[0]
    assert validate(spec) == []


# --- disk cases: a private mount namespace with a tmpfs --------------------------------------------------
def _can_mount() -> bool:
    if not shutil.which("unshare") or sys.platform != "linux":
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


def _cli_in_namespace(mount_cmd: str, mountpoint: Path, argv: list[str]) -> tuple[int, str, str]:
    script = f'{mount_cmd} && exec "$@"'
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-m", "augbench.benchmark.cli", *argv],
                          cwd=REPO, env=env(1), capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.skipif(not _can_mount(), reason="needs `unshare -m` and mount rights (a private tmpfs)")
def test_full_disk_for_the_output_folder(work, tmp_path):
    """A real ENOSPC: the output folder is a 256 KiB tmpfs filled to the last block before the run."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    mount = (f"mount -t tmpfs -o size=256k tmpfs {mnt} && "
             f"(dd if=/dev/zero of={mnt}/filler bs=4k 2>/dev/null; true)")
    argv = _run(work, out=mnt / "out")
    assert_one_clear_error(*_cli_in_namespace(mount, mnt, argv), "the disk is full")


@pytest.mark.skipif(not _can_mount(), reason="needs `unshare -m` and mount rights (a private tmpfs)")
def test_read_only_output_folder(work, tmp_path):
    mnt = tmp_path / "ro"
    mnt.mkdir()
    argv = _run(work, out=mnt)
    assert_one_clear_error(*_cli_in_namespace(f"mount -t tmpfs -o ro,size=1m tmpfs {mnt}", mnt, argv), "read-only")


@pytest.mark.skipif(not _can_mount(), reason="needs `unshare -m` and mount rights (a private tmpfs)")
def test_full_disk_for_the_dataset_cache_is_only_a_warning(work, tmp_path):
    """The decoded-image cache is an optimisation: a full cache disk ($AUGBENCH_CACHE on a filled
    tmpfs) only warns. Validation decodes the dataset (failing to cache it) and then stops at a bad
    --minority, so the warning is seen without training anything."""
    mnt = tmp_path / "cache"
    mnt.mkdir()
    mount = (f"mount -t tmpfs -o size=64k tmpfs {mnt} && "
             f"(dd if=/dev/zero of={mnt}/filler bs=4k 2>/dev/null; true) && export AUGBENCH_CACHE={mnt}")
    code, out, err = _cli_in_namespace(mount, mnt, _run(work, "--minority", "cats", out=tmp_path / "out"))
    # validation loads (and tries to cache) the dataset first, then rejects the minority name
    assert_one_clear_error(code, out, err, "minority class 'cats'")
    assert "could not write dataset cache" in err


def test_two_grids_on_one_store(work, tmp_path):
    """Two grids started together on the store that already holds a finished cell: both finish,
    the old cell is reused by both (not rerun), and the one new cell runs exactly once."""
    store = tmp_path / "store"
    shutil.copytree(work["store"], store)  # the copy's artifact root still names the original folder: harmless
    before = _finished(store)
    argv_a = ["run", "--dataset", "breast", *SMOKE, "--generators", "none,oversample", "--out", str(store)]
    argv_b = ["run", "--dataset", "breast", *SMOKE, "--generators", "oversample", "--out", str(store)]
    procs = [subprocess.Popen([sys.executable, "-m", "augbench.benchmark.cli", *argv], cwd=REPO, env=env(1),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for argv in (argv_a, argv_b)]
    logs = [p.communicate(timeout=300)[0] for p in procs]
    for proc, log in zip(procs, logs):
        assert proc.returncode == 0, log[-3000:]
        assert "Traceback" not in log
    after = _finished(store)
    assert set(before.items()) <= set(after.items())  # the finished cell is the very same run
    assert len(after) == 2 and Counter(after.values()).most_common(1)[0][1] == 1  # 2 cells, each once
