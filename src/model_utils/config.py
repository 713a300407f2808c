"""One config path for every entry point: YAML defaults < --config_path YAML < command line.

Every key, its help and its choices live in default_config.yaml. Values are checked against
the default's type and the choices before any work starts, so a typo fails in one line.
"""

from __future__ import annotations

import argparse
import difflib
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

from src.errors import UserError, first_line
from src.file_names import CONFIG_FILE
from src.fileio import atomic_write_text

T = TypeVar("T")

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "default_config.yaml"


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


def load_yaml(path: str | Path) -> tuple[dict, dict, dict]:
    """Values, helps, choices from a one-to-three-document YAML file."""
    path = Path(path)
    try:
        docs = list(yaml.safe_load_all(path.read_text()))
    except FileNotFoundError:
        raise UserError(f"config file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise UserError(f"config file {path} is not valid YAML: {first_line(exc)}") from None
    docs = [d or {} for d in docs] + [{}] * (3 - len(docs))
    if not all(isinstance(d, dict) for d in docs[:3]):
        raise UserError(f"config file {path}: expected key: value mappings")
    return docs[0], docs[1], docs[2]


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
    """Check one value against its default's type; ints are widened to float where a float is due."""
    if not _matches(value, default):
        raise UserError(f"{source}: {key}={value!r} is not valid: expected {_type_name(default)}")
    if isinstance(default, float):
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


def _check_choices(values: dict, choices: dict, source: str) -> None:
    for key, allowed in choices.items():
        if key in values and values[key] not in allowed:
            raise UserError(f"{source}: {key}={values[key]!r} is not one of {allowed}")


def _merge_file(values: dict, path: str, source: str) -> dict:
    override, _, _ = load_yaml(path)
    merged = dict(values)
    for key, value in override.items():
        if key not in values:
            raise UserError(f"{source}: unknown key '{key}'{_closest(key, values)}")
        merged[key] = _coerce(key, value, values[key], source)
    return merged


def _build_parser(values: dict, helps: dict, choices: dict, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, allow_abbrev=False)
    parser.add_argument("--config_path", default=str(DEFAULT_CONFIG), help="YAML file overriding the defaults")
    for key, default in values.items():
        extra = f" Choices: {choices[key]}." if key in choices else ""
        parser.add_argument(
            f"--{key}",
            metavar=_type_name(default).split(" ")[1].upper(),
            default=None,
            help=f"{helps.get(key, '')}{extra} Default: {default!r}.",
        )
    return parser


def get_config(argv: list[str] | None = None, description: str = "FCN-4 music auto-tagging") -> Config:
    """Resolve the configuration for one run from the defaults, a YAML file and argv."""
    values, helps, choices = load_yaml(DEFAULT_CONFIG)
    parser = _build_parser(values, helps, choices, description)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        key = unknown[0].split("=")[0].lstrip("-")
        raise UserError(f"command line: unknown option '{unknown[0]}'{_closest(key, values)}")
    if Path(args.config_path).resolve() != DEFAULT_CONFIG:
        values = _merge_file(values, args.config_path, args.config_path)
        _check_choices(values, choices, args.config_path)
    for key, default in list(values.items()):
        text = getattr(args, key)
        if text is not None:
            values[key] = _coerce(key, _parse_cli_value(text, default), default, "command line")
    _check_choices(values, choices, "command line")
    values["config_path"] = args.config_path
    return Config(values)


def save_config(values: dict[str, Any], directory: str | Path) -> Path:
    """Write a resolved config's values next to the outputs (atomically), so a run can be reproduced."""
    return atomic_write_text(Path(directory) / CONFIG_FILE, yaml.safe_dump(values, sort_keys=True))
