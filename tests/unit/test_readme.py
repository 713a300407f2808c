"""The documentation's promises that can be checked mechanically: the README as a front door with the two
commands CI runs, every docs/ page linked from it, every relative link resolving, config keys, scripts."""

import re
import sys
from pathlib import Path

import yaml

from src.model_utils.config_table import REGENERATE, config_table, replace_table
from tests.helpers.processes import ROOT

README_PATH = ROOT / "README.md"
README = README_PATH.read_text()
DOCS = sorted((ROOT / "docs").glob("*.md"))
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
MAX_README_LINES = 300

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", flags=re.M | re.S)
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", flags=re.M)


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def _prose(text: str) -> str:
    """Markdown without its fenced code blocks (a `#` comment in a bash block is no heading, a URL no link)."""
    return _FENCE.sub("", text)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: link targets kept as their text, lowercase, punctuation other than
    `-` and `_` dropped, each space a `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a markdown file, repeats numbered as GitHub numbers them (`name-1`, ...)."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in _HEADING.findall(_prose(path.read_text())):
        anchor = github_anchor(heading)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    """Every link target in a markdown file's prose that is not a URL (http:, mailto:, ...)."""
    return [t for t in _LINK.findall(_prose(path.read_text())) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def broken_links(path: Path) -> list[str]:
    """'FILE: TARGET (why)' for each relative link of path that points at nothing."""
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(ROOT)}: {target}"
        if not linked.exists():
            broken.append(f"{where} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{where} (no such heading in {linked.relative_to(ROOT)})")
    return broken


def test_quick_start_has_exactly_two_set_up_to_result_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert all("\n" not in c and c.startswith("python3 -m venv .venv") for c in commands)
    assert "scripts/run_demo.sh" in commands[0]
    assert "scripts/run_tests.sh" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _quick_start_commands()[1] in ci_lines


def test_the_readme_is_a_front_door():
    lines = len(README.splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines (at most {MAX_README_LINES}): move detail to docs/"


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in relative_links(README_PATH)}
    missing = [page.name for page in DOCS if page.resolve() not in linked]
    assert not missing, f"README.md's Documentation list lacks {missing}"


def test_every_relative_link_points_at_a_file_and_heading_that_exist():
    broken = [problem for path in [README_PATH, *DOCS] for problem in broken_links(path)]
    assert not broken, "\n".join(broken)


def test_the_link_check_catches_a_missing_file_and_a_missing_heading(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "other.md").write_text("# The model zoo's FCN-4: `zoo`\n" + "## Yes/no, 0.80 -> 0.74\n" * 2)
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n```bash\n# not a heading [x](gone.md)\n```\n"
        "[a](other.md#the-model-zoos-fcn-4-zoo) [b](other.md#yesno-080---074-1) [c](#title) [d](https://x.org/y)\n"
        "[e](missing.md) [f](other.md#nothing) ![g](other.md)\n"
    )
    assert broken_links(page) == [
        "page.md: missing.md (no such file)",
        "page.md: other.md#nothing (no such heading in other.md)",
    ]


def test_every_config_key_is_documented():
    values = next(yaml.safe_load_all((ROOT / "default_config.yaml").read_text()))
    missing = [key for key in values if f"`{key}`" not in CONFIGURATION]
    assert not missing, f"docs/configuration.md lacks config keys: {missing}"


def test_the_config_table_is_generated_from_the_defaults():
    assert replace_table(CONFIGURATION, config_table()) == CONFIGURATION, (
        f"docs/configuration.md's config table is stale: run `{REGENERATE}`"
    )


def test_scripts_named_in_the_documentation_exist():
    for path in [README_PATH, *DOCS]:
        for name in re.findall(r"scripts/([\w.]+\.sh)", path.read_text()):
            assert (ROOT / "scripts" / name).is_file(), f"{path.relative_to(ROOT)} names scripts/{name}"
