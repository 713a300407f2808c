"""One config path for every entry point: YAML defaults < --config_path YAML < command line.

Every key, its help, its choices and the range of each number live in default_config.yaml.
Values are checked against the default's type, the choices and the ranges before any work
starts, so a typo or an impossible number fails in one line.
"""

from __future__ import annotations

import argparse
import difflib
import math
import operator
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

from src.core.errors import UserError, first_line
from src.core.file_names import CONFIG_FILE
from src.core.fileio import atomic_write_text

T = TypeVar("T")

_ROOT = Path(__file__).resolve().parents[2]
# In a checkout, the repository root's file; installed (pip install .), the copy pyproject.toml puts in
# fcn4/scripts/ beside src/ in site-packages.
DEFAULT_CONFIG = next(
    (p for p in (_ROOT / "default_config.yaml", _ROOT / "fcn4" / "scripts" / "default_config.yaml") if p.is_file()),
    _ROOT / "default_config.yaml",
)
CONFIG_PATH_KEY = "config_path"
DOCUMENTS = ("values", "help", "choices", "ranges")  # in this order in default_config.yaml

# YAML 1.1 reads 1e-3 as a string (its floats need a dot); where a number is due, this is one too.
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_BOUND = re.compile(rf"\s*(>=|<=|>|<)\s*({_NUMBER})\s*")
_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


class Config:
    """Attribute access to a flat dict of settings (config.lr), plus to_dict() for saving."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def pick(self, cls: type[T], **given: Any) -> T:
        """An instance of dataclass `cls` from the keys named like its fields (its defaults for the rest).

        How an entry point hands explicit values to library code, which never sees the config.
        """
        values = {f.name: getattr(self, f.name) for f in fields(cls) if f.name in self.__dict__ and f.name not in given}
        return cls(**values, **given)

    def __repr__(self) -> str:
        return "\n".join(f"{k}: {v!r}" for k, v in sorted(self.__dict__.items()))


@dataclass(frozen=True)
class Range:
    """The values a numeric key allows (each item of a list key), written '>= 1' or '> 0, < 1' in the YAML."""

    bounds: tuple[tuple[str, int | float], ...]

    @classmethod
    def parse(cls, text: Any, where: str) -> Range:
        matches = [_BOUND.fullmatch(part) for part in str(text).split(",")]
        if not all(matches):
            raise UserError(f"{where}={text!r} is not a range: expected bounds like '>= 1' or '> 0, < 1'")
        return cls(tuple((m[1], int(m[2]) if m[2].lstrip("+-").isdigit() else float(m[2])) for m in matches))

    def admits(self, value: Any) -> bool:
        if isinstance(value, list):
            return all(self.admits(item) for item in value)
        return all(_COMPARE[op](value, limit) for op, limit in self.bounds)

    def describe(self, default: Any) -> str:
        """'>= 1', '> 0 and < 1', or 'each item >= 1' for a list key."""
        text = " and ".join(f"{op} {limit}" for op, limit in self.bounds)
        return f"each item {text}" if isinstance(default, list) else text


@dataclass(frozen=True)
class ConfigSchema:
    """The four documents of default_config.yaml: values, help, choices and ranges per key."""

    values: dict[str, Any]
    helps: dict[str, str]
    choices: dict[str, list]
    ranges: dict[str, Range]

    def meaning(self, key: str) -> str:
        """A key's help with its choices and range, as --help and the README table show it."""
        text = self.helps.get(key, "")
        if key in self.choices:
            text += f" Choices: {', '.join(str(choice) for choice in self.choices[key])}."
        if key in self.ranges:
            text += f" Range: {self.ranges[key].describe(self.values[key])}."
        return text

    def check(self, values: dict[str, Any], sources: dict[str, str]) -> None:
        """UserError naming the first key whose value is not one of its choices or out of its range."""
        for key, value in values.items():
            if key in self.choices and value not in self.choices[key]:
                raise UserError(f"{sources[key]}: {key}={value!r} is not one of {self.choices[key]}")
            if key in self.ranges and not self.ranges[key].admits(value):
                expected = self.ranges[key].describe(self.values[key])
                raise UserError(f"{sources[key]}: {key}={value!r} is out of range: expected {expected}")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"config file {path} is a directory: expected a YAML file") from None
    except PermissionError:
        raise UserError(f"config file {path} cannot be read: permission denied") from None
    except UnicodeDecodeError:
        raise UserError(f"config file {path} is not a text file: expected YAML") from None
    except OSError as exc:
        raise UserError(f"config file {path} cannot be read: {exc.strerror or first_line(exc)}") from None


def _read_documents(path: str | Path) -> list[dict]:
    """The YAML documents of a config file (values, help, choices, ranges), missing ones empty."""
    path = Path(path)
    try:
        docs = list(yaml.safe_load_all(_read_text(path)))
    except yaml.YAMLError as exc:
        raise UserError(f"config file {path} is not valid YAML: {first_line(exc)}") from None
    docs = [d or {} for d in docs] + [{}] * (len(DOCUMENTS) - len(docs))
    for number, doc in enumerate(docs, 1):
        if not isinstance(doc, dict):
            raise UserError(f"config file {path}: YAML document {number} is not key: value mappings")
    return docs


def load_yaml(path: str | Path) -> tuple[dict, dict, dict]:
    """Values, helps, choices from a config file."""
    values, helps, choices, _ = _read_documents(path)
    return values, helps, choices


def load_schema(path: str | Path = DEFAULT_CONFIG) -> ConfigSchema:
    """Every key with its default, help, choices and range (default_config.yaml unless told)."""
    values, helps, choices, ranges = _read_documents(path)
    return ConfigSchema(
        values, helps, choices, {key: Range.parse(text, f"{path}: ranges: {key}") for key, text in ranges.items()}
    )


def _closest(key: str, known) -> str:
    match = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
    return f" (did you mean {match[0]}?)" if match else ""


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean (True/False)"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, list):
        return "a list like " + yaml.safe_dump(value, default_flow_style=True).strip()
    return "a string"


def _matches(value: Any, default: Any) -> bool:
    """Whether value has the shape of default (bool is not an int; lists recurse on items)."""
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, list):
        if not isinstance(value, list):
            return False
        return not default or all(_matches(v, default[0]) for v in value)
    return isinstance(value, str)


def _coerce(key: str, value: Any, default: Any, source: str) -> Any:
    """Check one value against its default's type; ints and 1e-3 are read as floats where a float is due."""
    if isinstance(default, float) and isinstance(value, str) and re.fullmatch(_NUMBER, value.strip()):
        value = float(value)
    if not _matches(value, default):
        raise UserError(f"{source}: {key}={value!r} is not valid: expected {_type_name(default)}")
    if isinstance(default, float):
        if not math.isfinite(value):
            raise UserError(f"{source}: {key}={value!r} is not valid: expected a finite number")
        return float(value)
    return value


def _parse_cli_value(text: str, default: Any) -> Any:
    """A command-line string as YAML (so True, 3, [1,2] work); bare a,b,c lists are accepted too."""
    if isinstance(default, str):
        return text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(default, list) and not isinstance(value, list):
        value = [yaml.safe_load(part) for part in text.split(",")] if "," in text else [value]
    if isinstance(default, bool) and isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        value = bool(value)
    return value


def _read_overrides(path: str, defaults: dict) -> dict:
    """A --config_path file's values, type-checked; a `config_path` key (older saved runs) is ignored."""
    override, _, _, _ = _read_documents(path)
    checked = {}
    for key, value in override.items():
        if key == CONFIG_PATH_KEY:
            continue
        if key not in defaults:
            raise UserError(f"{path}: unknown key '{key}'{_closest(str(key), defaults)}")
        checked[key] = _coerce(key, value, defaults[key], path)
    return checked


def _build_parser(schema: ConfigSchema, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, allow_abbrev=False)
    parser.add_argument(
        f"--{CONFIG_PATH_KEY}",
        default=str(DEFAULT_CONFIG),
        help=f"YAML file overriding the defaults; a run's saved {CONFIG_FILE} reproduces it.",
    )
    for key, default in schema.values.items():
        parser.add_argument(
            f"--{key}",
            metavar=_type_name(default).split(" ")[1].upper(),
            default=None,
            help=f"{schema.meaning(key)} Default: {default!r}.",
        )
    return parser


def get_config(argv: list[str] | None = None, description: str = "FCN-4 music auto-tagging") -> Config:
    """Resolve the configuration for one run from the defaults, a YAML file and argv, all checked."""
    schema = load_schema()
    parser = _build_parser(schema, description)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        key = unknown[0].split("=")[0].lstrip("-")
        raise UserError(f"command line: unknown option '{unknown[0]}'{_closest(key, schema.values)}")
    values = dict(schema.values)
    sources = dict.fromkeys(values, str(DEFAULT_CONFIG))
    if Path(args.config_path).resolve() != DEFAULT_CONFIG:
        override = _read_overrides(args.config_path, values)
        values.update(override)
        sources.update(dict.fromkeys(override, args.config_path))
    for key, default in schema.values.items():
        text = getattr(args, key)
        if text is not None:
            values[key] = _coerce(key, _parse_cli_value(text, default), default, "command line")
            sources[key] = "command line"
    schema.check(values, sources)
    values[CONFIG_PATH_KEY] = args.config_path
    return Config(values)


def save_config(values: dict[str, Any], directory: str | Path) -> Path:
    """Write a resolved config's settings next to the outputs (atomically): `--config_path` it to reproduce the run."""
    settings = {key: value for key, value in values.items() if key != CONFIG_PATH_KEY}
    return atomic_write_text(Path(directory) / CONFIG_FILE, yaml.safe_dump(settings, sort_keys=True))
