"""Shared fixtures: one decoded-image cache per test session, so each real dataset is decoded once."""
from __future__ import annotations

import functools
import http.server
import threading

import pytest

from augbench import datasets


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("dataset-cache")


@pytest.fixture(scope="session")
def ham28(data_dir, cache_dir):
    return datasets.load_dataset("dermamnist", data_dir=data_dir, image_size=28, cache_dir=cache_dir)


@pytest.fixture(scope="session")
def chest28(data_dir, cache_dir):
    return datasets.load_dataset("chestxray", data_dir=data_dir, image_size=28, cache_dir=cache_dir)


class FileHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder quietly and remembers the paths asked for (what a fetch requested)."""

    requested: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.requested.append(self.path)
        super().do_GET()


@pytest.fixture
def serve():
    """``serve(folder)`` -> the base URL of a real HTTP server on 127.0.0.1 serving ``folder``."""
    servers = []

    def start(directory):
        FileHandler.requested = []
        handler = functools.partial(FileHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
