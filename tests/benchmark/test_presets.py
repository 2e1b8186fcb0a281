"""Presets must be usable as shipped: every per-arm setting is accepted by that arm."""
import pytest

from augbench.benchmark.presets import load_preset, merged, preset_names
from augbench.core.errors import UserError
from augbench.generators import create_generator, generator_names


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_preset_settings_are_accepted_by_every_arm(name):
    preset = load_preset(name)
    assert {"image_size", "seeds", "classifiers", "classifier", "generators"} <= set(preset)
    learned = [g for g in generator_names() if create_generator(g).learned]
    assert set(learned) <= set(preset["generators"]), "every learned arm needs preset settings"
    for arm, cfg in preset["generators"].items():
        g = create_generator(arm, **cfg)
        described = g.describe()
        for key, value in cfg.items():  # the arm really took the preset's value
            assert described.get(key) == value, (name, arm, key)


def test_paper_is_64px_and_multi_seed():
    paper = load_preset("paper")
    assert paper["image_size"] == 64 and len(paper["seeds"]) >= 3


def test_unknown_preset_and_merge():
    with pytest.raises(UserError):
        load_preset("nope")
    assert merged({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}}


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_shipped_presets_resolve_to_their_own_values(name):
    from augbench.benchmark.settings import resolve_settings

    preset = load_preset(name)
    settings = resolve_settings(preset)
    assert settings.name == name and settings.image_size == preset["image_size"]
    assert list(settings.seeds) == preset["seeds"] and list(settings.classifiers) == preset["classifiers"]
    for key, value in preset["classifier"].items():
        assert getattr(settings.classifier, key) == value, key
    for key, value in preset["fidelity"].items():
        assert getattr(settings.fidelity, key) == value, key
    assert settings.generators == preset["generators"]
