"""A preset's settings as typed values, checked in full before the first cell.

Presets, grid-file ``overrides`` and GridSpecs built in Python are plain dicts; a misspelt key or a
value of the wrong type in one of them would otherwise surface inside a worker as FAILED cells, or
change nothing at all. Every entry point (CLI, grid files, ``benchmark check``, ``runner.validate``)
passes the dict through ``resolve_settings``, so each such mistake is one UserError naming the key
and the keys allowed there.

The dict itself stays what cells hash (grid.py): resolving checks and types it but never rewrites
it, so cell hashes and cached fits do not move.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from difflib import get_close_matches

from augbench.classifiers.training import TrainConfig
from augbench.core.errors import UserError
from augbench.core.values import ArmName

#: TrainConfig fields the harness sets per cell; a preset setting them would be overwritten anyway
PER_CELL_FIELDS = ("seed", "device", "steps_per_epoch")
#: The harness's own defaults where they differ from TrainConfig's. A preset that omits ``epochs``
#: has always trained for 5 (benchmark/cell.py); TrainConfig's 10 is the library's default.
HARNESS_DEFAULTS = {"epochs": 5}
#: settings counted in whole units of at least one
POSITIVE = {"epochs", "batch_size", "eval_batch_size", "domain_epochs", "inception_size", "image_size",
            "train_per_class", "eval_per_class"}


def _classifier_fields() -> list[tuple]:
    """TrainConfig's fields (less the per-cell ones) plus ``weights``, which the harness reads itself."""
    hints = typing.get_type_hints(TrainConfig)
    out = []
    for f in dataclasses.fields(TrainConfig):
        if f.name in PER_CELL_FIELDS:
            continue
        out.append((f.name, hints[f.name], field(default=HARNESS_DEFAULTS.get(f.name, f.default))))
    out.append(("weights", typing.Optional[str], field(default=None)))  # a local state_dict to start from
    return out


#: What a preset's ``classifier:`` block may set: derived from TrainConfig, so a new training knob is
#: settable from a preset without touching the harness, and none is dropped on the way.
ClassifierSettings = dataclasses.make_dataclass("ClassifierSettings", _classifier_fields(), frozen=True)
ClassifierSettings.__module__ = __name__  # pickles (process pool, Ray) find it here
TRAIN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name not in PER_CELL_FIELDS)


@dataclass(frozen=True)
class FidelitySettings:
    """The ``fidelity:`` block; defaults are the ones benchmark/fidelity_step.py applies."""

    enabled: bool = True
    domain_epochs: int = 5
    inception: str = "auto"  # "auto" | "off"
    inception_size: int = 299
    probe: bool = True  # the convergence probe during learned fits (benchmark/probe.py)


#: what can bound a learned arm's fit (benchmark/compute.py solves the arm's length for each)
MODES = ("steps", "flops", "seconds")


@dataclass(frozen=True)
class ComputeSettings:
    """The ``compute:`` block: what bounds a learned arm's fit (benchmark/compute.py). ``steps``
    keeps each arm's own length setting; ``flops`` and ``seconds`` solve it per arm for the amount."""

    budget: str = "steps"  # "steps" | "flops" | "seconds"
    flops: typing.Optional[float] = None  # FLOPs per fit (fixed costs such as pre-training included)
    seconds: typing.Optional[float] = None  # seconds per fit on the measuring machine


@dataclass(frozen=True)
class SubsampleSettings:
    """The ``subsample:`` block: per-class caps of the CI preset (None: the whole split)."""

    train_per_class: typing.Optional[int] = None
    eval_per_class: typing.Optional[int] = None


def arm_settings(preset: dict, arm: str) -> dict:
    """An arm's preset entry; a variant (``ddpm@g3``) starts from its base arm's entry and changes
    only what its own entry sets, so ``generators.ddpm@g3.guidance=3`` differs from ddpm in one knob."""
    entries = preset.get("generators") or {}
    name = ArmName.parse(arm)
    if name.variant is None:
        return dict(entries.get(arm, {}))
    return {**entries.get(name.base, {}), **entries.get(arm, {})}


@dataclass(frozen=True)
class Settings:
    """A resolved preset. ``generators`` holds each arm's preset entry only: an arm without one runs
    with its own defaults, and its entry is what the fit's hash covers."""

    name: str = "custom"
    description: str = ""
    image_size: int = 28
    seeds: tuple = (0,)
    classifiers: tuple = ("small-cnn",)
    subsample: SubsampleSettings = field(default_factory=SubsampleSettings)
    classifier: ClassifierSettings = field(default_factory=ClassifierSettings)
    fidelity: FidelitySettings = field(default_factory=FidelitySettings)
    compute: ComputeSettings = field(default_factory=ComputeSettings)
    generators: dict = field(default_factory=dict)
    #: parallel fit groups when neither --jobs nor the grid file says: a count, or "auto" (one per usable
    #: core on a CPU run, 1 on a GPU). How the grid is executed, never what it computes: not in any hash.
    jobs: typing.Union[int, str] = 1
    base_preset: typing.Optional[str] = None  # set when a grid's overrides renamed the preset

    def generator(self, arm: str) -> dict:
        return arm_settings({"generators": self.generators}, arm)


SECTIONS = {"classifier": ClassifierSettings, "fidelity": FidelitySettings, "subsample": SubsampleSettings,
            "compute": ComputeSettings}
TOP_LEVEL = tuple(f.name for f in dataclasses.fields(Settings))
OVERRIDE_KEYS = tuple(k for k in TOP_LEVEL if k != "base_preset")  # base_preset is derived, never written


# --- entry points -------------------------------------------------------------------------------------
def resolve_settings(preset, *, where: str | None = None) -> Settings:
    """Typed settings of a preset dict (after any overrides are merged in); UserError for any mistake."""
    if not isinstance(preset, dict):
        raise UserError(f"the preset is a {type(preset).__name__}, not a mapping of settings.",
                        "pass a preset name (smoke, quick, paper), a preset YAML file, or a dict like load_preset's.")
    return Settings(**_resolve(preset, where or f"preset {preset.get('name', 'custom')!r}", TOP_LEVEL))


def check_overrides(overrides, *, where: str = "overrides") -> None:
    """A grid file's ``overrides`` block, checked on its own so an error names the block it is in
    (the merged preset is resolved again afterwards)."""
    if not isinstance(overrides, dict):
        raise UserError(f"{where} is {overrides!r}, not a mapping of preset settings.",
                        "write e.g. overrides: {classifier: {epochs: 5}}.")
    _resolve(overrides, where, OVERRIDE_KEYS)


def _resolve(block: dict, where: str, allowed) -> dict:
    _check_keys(where, "preset", block, allowed)
    values = _top_level(where, block)
    for name, cls in SECTIONS.items():
        if name in block:
            values[name] = section(cls, block[name], where, name)
    values["generators"] = generator_settings(_mapping(where, "generators", block.get("generators", {})), where)
    return values


def classifier_settings(block) -> "ClassifierSettings":
    """A bare ``classifier:`` block (a cell's ``classifier_config()``), typed."""
    return section(ClassifierSettings, block if block is not None else {}, "preset", "classifier")


def train_config(classifier, *, seed: int, device: str, steps_per_epoch: int | None = None) -> TrainConfig:
    """The TrainConfig of a cell: every field from the classifier settings, the per-cell ones from the cell."""
    if not isinstance(classifier, ClassifierSettings):
        classifier = classifier_settings(classifier)
    return TrainConfig(**{name: getattr(classifier, name) for name in TRAIN_FIELDS},
                       seed=seed, device=device, steps_per_epoch=steps_per_epoch)


# --- sections -----------------------------------------------------------------------------------------
def section(cls, block, where: str, name: str):
    """An instance of the section dataclass ``cls`` from the preset's ``name:`` block."""
    block = _mapping(where, name, block)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _check_keys(where, name, block, tuple(fields))
    hints = {f.name: f.type for f in fields.values()} if cls is ClassifierSettings else typing.get_type_hints(cls)
    if cls is FidelitySettings and block.get("inception", "auto") not in ("auto", "off"):
        raise UserError(f"{where}: {name}.inception is {block['inception']!r}, not 'auto' or 'off'.",
                        "write inception: auto, or inception: 'off' (quoted: YAML reads a bare off as false).")
    values = {key: _typed(f"{where}: {name}.{key}", key, hints[key], value, fields[key].default)
              for key, value in block.items()}
    _check_values(f"{where}: {name}.", values)
    if cls is ComputeSettings:
        _check_compute(f"{where}: {name}", values)
    return cls(**values)


def _check_compute(where: str, values: dict) -> None:
    mode = values.get("budget", "steps")
    if mode not in MODES:
        raise UserError(f"{where}.budget is {mode!r}, not one of {', '.join(MODES)}.",
                        "write e.g. compute: {budget: flops, flops: 2.0e12}.")
    for key in ("flops", "seconds"):
        if values.get(key) is not None and values[key] <= 0:
            raise UserError(f"{where}.{key} is {values[key]!r}, not a positive number.", f"write e.g. {key}: 2.0e12.")
    if mode != "steps" and values.get(mode) is None:
        raise UserError(f"{where}: budget {mode} needs {where.split(': ')[-1]}.{mode}, the amount per fit.",
                        f"add e.g. {mode}: {'2.0e12' if mode == 'flops' else '60'}.")


def _check_values(prefix: str, values: dict) -> None:
    """Checks past the type: counts that size something, and the CPU precision words."""
    for key, value in values.items():
        if key in POSITIVE and value is not None and value < 1:
            raise UserError(f"{prefix}{key} is {value!r}, not a whole number >= 1.", f"write e.g. {key}: 5.")
    if isinstance(values.get("cpu_bf16"), str):
        from augbench.core.precision import parse_setting

        try:
            parse_setting(values["cpu_bf16"], key="cpu_bf16")
        except UserError as exc:
            raise UserError(f"{prefix}{exc.problem}", exc.fix) from None


def _top_level(where: str, preset: dict) -> dict:
    """The scalar and list settings of a preset (the sections are resolved by the caller)."""
    from augbench.core.values import parse_seeds

    out = {}
    for key in ("name", "description", "base_preset"):
        if preset.get(key) is not None:
            out[key] = _typed(f"{where}: {key}", key, str, preset[key], "my-settings")
    if "image_size" in preset:
        out["image_size"] = _typed(f"{where}: image_size", "image_size", int, preset["image_size"], 28)
        _check_values(f"{where}: ", {"image_size": out["image_size"]})
    if "jobs" in preset:
        jobs = preset["jobs"]
        if jobs != "auto" and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
            raise UserError(f"{where}: jobs is {jobs!r}, not a whole number >= 1 or 'auto'.",
                            "write jobs: 1 (sequential), jobs: 2, or jobs: auto (one per usable core on a CPU).")
        out["jobs"] = jobs
    if "seeds" in preset:
        _check_list(where, "seeds", preset["seeds"], "[0, 1, 2]")
        try:
            out["seeds"] = tuple(parse_seeds(preset["seeds"]))
        except UserError as exc:
            raise UserError(f"{where}: {exc.problem}", "write e.g. seeds: [0, 1, 2].") from None
    if "classifiers" in preset:
        from augbench.classifiers import expand_classifiers

        _check_list(where, "classifiers", preset["classifiers"], "[small-cnn]")
        names = preset["classifiers"]
        out["classifiers"] = tuple(expand_classifiers(names if isinstance(names, str) else [str(n) for n in names]))
    return out


def generator_settings(block: dict, where: str) -> dict:
    """Each arm's entry, checked against what the arm declares and then by the arm itself: it is built
    with the entry (arms build no network before fit), so its own checks run now, not in a worker."""
    from augbench.generators import create_generator, expand_generators

    out = {}
    for arm, settings in block.items():
        arm = str(arm)
        try:
            expand_generators([arm])
        except UserError as exc:
            raise UserError(f"{where}: generators: {exc.problem}", exc.fix) from None
        settings = _mapping(where, f"generators.{arm}", settings)
        defaults = _declared_settings(create_generator(arm))
        for key, value in settings.items():
            if key not in defaults:
                raise UserError(f"{where}: unknown setting {key!r} for generator {arm!r}{_hint(str(key), defaults)}.",
                                f"{arm} settings are: {', '.join(sorted(defaults))}." if defaults
                                else f"{arm} takes no settings: drop generators.{arm}.")
            if _is_number(defaults[key]) and value is not None and not _is_number(value):
                raise UserError(f"{where}: generators.{arm}.{key} is {value!r}, not a number.",
                                f"write e.g. {key}: {defaults[key]!r}.")
        try:
            create_generator(arm, **settings)
        except UserError as exc:
            raise UserError(f"{where}: generators.{arm}: {exc.problem}", exc.fix) from None
        out[arm] = dict(settings)
    return out


def _declared_settings(generator) -> dict:
    """An arm's settings and their defaults, read off a default-built instance: its merged ``cfg``
    where it keeps one apart from the raw ``config`` (the BAGANs), else ``config``. Arms whose
    constructors take any keyword (the baselines) still only declare the ones they store."""
    return {**generator.config, **(getattr(generator, "cfg", None) or {})}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --- values -------------------------------------------------------------------------------------------
def _check_keys(where: str, what: str, block: dict, allowed) -> None:
    for key in block:
        if key not in allowed:
            raise UserError(f"{where}: unknown {what} setting {key!r}{_hint(str(key), allowed)}.",
                            f"{what} settings are: {', '.join(sorted(allowed))}.")


def _hint(key: str, allowed) -> str:
    close = get_close_matches(key, sorted(map(str, allowed)), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _mapping(where: str, name: str, value) -> dict:
    if not isinstance(value, dict):
        raise UserError(f"{where}: {name} is {value!r}, not a mapping.",
                        f"write e.g. {name}: {{...}} as in the shipped presets (`benchmark presets`).")
    return value


def _check_list(where: str, key: str, value, example: str) -> None:
    if isinstance(value, (dict, bool)) or value is None:
        raise UserError(f"{where}: {key} is {value!r}, not a list.", f"write e.g. {key}: {example}.")


_WORDS = {int: "a whole number", float: "a number", bool: "true or false", str: "a text", tuple: "a list",
          type(None): "null"}


def _typed(path: str, key: str, hint, value, default):
    """``value`` as the type ``hint`` names, or a UserError saying what was expected."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    for option in options:
        ok, converted = _convert(option, value)
        if ok:
            return converted
    expected = " or ".join(_WORDS.get(o, getattr(o, "__name__", str(o))) for o in options)
    example = "path/to/file" if default is None else list(default) if isinstance(default, tuple) else default
    raise UserError(f"{path} is {value!r}, not {expected}.", f"write e.g. {key}: {example!r}.")


def _convert(option, value) -> tuple[bool, object]:
    if option is type(None):
        return value is None, None
    if option is bool:
        return isinstance(value, bool), value
    if isinstance(value, bool):  # YAML's true/false is never a number or a text here
        return False, None
    if option is int:
        return isinstance(value, int), value
    if option is float:
        if isinstance(value, (int, float)):
            return True, float(value)
        if not isinstance(value, str):
            return False, None
        try:  # YAML 1.1 reads 1e-3 (no dot) as a string; float() always took it as a number
            return True, float(value)
        except ValueError:
            return False, None
    if option is str:
        return isinstance(value, str), value
    if option is tuple:
        if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                   for v in value):
            return True, tuple(value)
        return False, None
    return isinstance(value, option), value
