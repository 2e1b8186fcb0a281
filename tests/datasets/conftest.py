"""Shared fixtures: one decoded-image cache per test session, so each real dataset is decoded once."""
from __future__ import annotations

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
