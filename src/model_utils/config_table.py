"""The configuration table (docs/configuration.md), generated from default_config.yaml so the two cannot drift apart.

`python -m src.model_utils.config_table` prints the markdown table; with `--write docs/configuration.md`
it replaces the table between that page's markers (atomically).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from src.core.cli import run_command
from src.core.errors import UserError
from src.core.fileio import atomic_write_text
from src.model_utils.config import DEFAULT_CONFIG, load_schema

BEGIN = "<!-- CONFIG-TABLE-BEGIN -->"
END = "<!-- CONFIG-TABLE-END -->"
REGENERATE = "python -m src.model_utils.config_table --write docs/configuration.md"


def _default_text(value: Any) -> str:
    """A default as YAML would write it on one line: false, '', [1, 2], ./data."""
    text = yaml.safe_dump(value, default_flow_style=True, width=float("inf")).strip()
    return text.removesuffix("\n...").strip()


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def config_table(config_path: str | Path = DEFAULT_CONFIG) -> str:
    """Markdown table of every key in YAML order: key, default, help (with its choices and range)."""
    schema = load_schema(config_path)
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for key, default in schema.values.items():
        rows.append(f"| `{key}` | `{_cell(_default_text(default))}` | {_cell(schema.meaning(key))} |")
    return "\n".join(rows)


def replace_table(text: str, table: str, source: str = "docs/configuration.md") -> str:
    """text with everything between the BEGIN and END markers replaced by table."""
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise UserError(f"{source}: expected the markers {BEGIN} and {END} around the config table")
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def write_table(readme: str | Path, config_path: str | Path = DEFAULT_CONFIG) -> bool:
    """Regenerate the table inside readme (atomically); returns whether the file changed."""
    readme = Path(readme)
    try:
        text = readme.read_text()
    except FileNotFoundError:
        raise UserError(f"{readme} does not exist") from None
    updated = replace_table(text, config_table(config_path), str(readme))
    if updated != text:
        atomic_write_text(readme, updated)
    return updated != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="docs/configuration.md's table from default_config.yaml.")
    parser.add_argument("--write", metavar="PAGE", help="replace the table between the markers in this file")
    args = parser.parse_args(argv)

    def command() -> int:
        if args.write:
            changed = write_table(args.write)
            print(f"{args.write}: config table {'updated' if changed else 'already up to date'}")
        else:
            print(config_table())
        return 0

    return run_command(command)


if __name__ == "__main__":
    sys.exit(main())
