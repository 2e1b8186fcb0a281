"""A server process for a test: started in its own session, waited for, its log shown when it fails
to come up, and stopped with everything it started (the mlflow server and its workers)."""
import contextlib
import os
import signal
import subprocess

from augbench.reports.server import HOST, wait_healthy


@contextlib.contextmanager
def serving(cmd: list[str], port: int, log_path, cwd=None):
    """Run ``cmd`` (listening on ``port``) and yield its URL once /health answers."""
    log = open(log_path, "w")
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd)
    url = f"http://{HOST}:{port}"
    try:
        wait_healthy(url, process, timeout=120)
        yield url
    except Exception:
        log.flush()
        print(open(log_path).read()[-3000:])
        raise
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # its own session: the server and its workers, nothing else
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()
