"""The README's promises that can be checked mechanically: the two commands, CI, config keys."""

import re

import yaml

from src.model_utils.config_table import REGENERATE, config_table, replace_table
from tests.helpers.processes import ROOT

README = (ROOT / "README.md").read_text()


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def test_quick_start_has_exactly_two_set_up_to_result_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert all("\n" not in c and c.startswith("python3 -m venv .venv") for c in commands)
    assert "scripts/run_demo.sh" in commands[0]
    assert "scripts/run_tests.sh" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _quick_start_commands()[1] in ci_lines


def test_every_config_key_is_documented():
    values = next(yaml.safe_load_all((ROOT / "default_config.yaml").read_text()))
    missing = [key for key in values if f"`{key}`" not in README]
    assert not missing, f"README lacks config keys: {missing}"


def test_the_config_table_is_generated_from_the_defaults():
    assert replace_table(README, config_table()) == README, f"README's config table is stale: run `{REGENERATE}`"


def test_scripts_named_in_the_readme_exist():
    for name in re.findall(r"scripts/([\w.]+\.sh)", README):
        assert (ROOT / "scripts" / name).is_file(), name
