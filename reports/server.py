"""Starting `mlflow server` over an augbench store, for `benchmark ui` and for tests.

The server binds to 127.0.0.1 only: the store holds paths and settings of one machine, and
exposing it on the network is a decision for whoever runs it (`mlflow server --host ...` by hand).
One worker is enough to browse runs and keeps a shared 2-core machine responsive.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"


def server_command(tracking_uri: str, artifact_root: str | Path, port: int, *, host: str = HOST,
                   workers: int = 1) -> list[str]:
    """The `mlflow server` argv. New experiments get ``artifact_root``; existing ones keep theirs."""
    root = Path(artifact_root).resolve().as_uri() if "://" not in str(artifact_root) else str(artifact_root)
    return [sys.executable, "-m", "mlflow", "server", "--host", host, "--port", str(port),
            "--backend-store-uri", tracking_uri, "--default-artifact-root", root, "--workers", str(workers)]


def port_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen | None = None, timeout: float = 90.0) -> None:
    """Block until ``url``/health answers OK; fail early if the server process died."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"mlflow server exited with code {process.returncode} before it answered")
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.3)
    raise TimeoutError(f"mlflow server at {url} did not answer /health within {timeout:.0f} s")
