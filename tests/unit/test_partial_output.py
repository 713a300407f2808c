"""src/inference/partial_output.py: an output built up a track at a time, continued after an interruption (a line
cut short by a crash dropped), refused when another run's settings made it, and finished atomically."""

import json

import pytest

from src.core.errors import UserError
from src.inference.partial_output import PartialOutput

SETTINGS = {"model_sha256": "ab12", "hop_seconds": 10.0, "tags": ["rock", "pop"]}


def _joined(partial: PartialOutput):
    return lambda handle: handle.write("|".join(partial.pieces()) + "\n")


def test_a_run_continued_after_an_interruption_writes_what_an_uninterrupted_run_writes(tmp_path):
    whole = PartialOutput(tmp_path / "whole.txt", SETTINGS)
    whole.open()
    for name in "abc":
        whole.add(name, name.upper())
    whole.finish(_joined(whole))

    first = PartialOutput(tmp_path / "out.txt", SETTINGS, planned=["a.npy"])
    assert first.earlier() == ([], set())
    first.open()
    first.add("a", "A")
    first.close()  # Ctrl-C
    assert not (tmp_path / "out.txt").exists()

    again = PartialOutput(tmp_path / "out.txt", SETTINGS, planned=["a.npy", "c.npy"])
    assert again.earlier() == (["a.npy"], {"a"})
    again.open()
    for name in "bc":
        again.add(name, name.upper())
    assert again.earlier() == (["a.npy", "c.npy"], {"a", "b", "c"})  # the second run's plans are kept too
    assert again.finish(_joined(again)) == tmp_path / "out.txt"
    assert (tmp_path / "out.txt").read_text() == (tmp_path / "whole.txt").read_text() == "A|B|C\n"
    assert not again.partial.exists()


def test_a_line_cut_short_by_a_crash_is_dropped(tmp_path):
    partial = PartialOutput(tmp_path / "out.csv", SETTINGS)
    partial.open()
    partial.add("a", "row a\n")
    partial.close()
    with open(partial.partial, "a", encoding="utf-8") as handle:
        handle.write('{"path": "b", "pie')  # killed while writing
    again = PartialOutput(tmp_path / "out.csv", SETTINGS)
    assert again.earlier()[1] == {"a"}
    again.open()
    again.add("b", "row b\n")
    again.finish(lambda handle: handle.writelines(again.pieces()))
    assert (tmp_path / "out.csv").read_text() == "row a\nrow b\n"


def test_another_runs_partial_is_refused_naming_what_differs(tmp_path):
    partial = PartialOutput(tmp_path / "out.json", SETTINGS)
    partial.open()
    partial.add("a", {"x": 1})
    partial.close()
    before = partial.partial.read_bytes()
    other = PartialOutput(tmp_path / "out.json", {**SETTINGS, "hop_seconds": 5.0})
    with pytest.raises(UserError, match=r"unfinished run with other settings \(hop_seconds 10.0\); rerun with those"):
        other.earlier()
    assert partial.partial.read_bytes() == before


@pytest.mark.parametrize("content", ["my notes\n", json.dumps({"fcn4_partial": 99}) + "\n"])
def test_a_file_tag_py_did_not_write_is_never_taken_for_a_partial(tmp_path, content):
    (tmp_path / "out.csv.partial").write_text(content)
    with pytest.raises(UserError, match="out.csv.partial exists and is not an unfinished tag.py output"):
        PartialOutput(tmp_path / "out.csv", SETTINGS).earlier()
    assert (tmp_path / "out.csv.partial").read_text() == content


def test_an_empty_partial_file_is_a_run_cut_before_its_first_line(tmp_path):
    (tmp_path / "out.csv.partial").write_text("")
    partial = PartialOutput(tmp_path / "out.csv", SETTINGS)
    assert partial.earlier() == ([], set())
    partial.open()
    partial.add("a", "row a\n")
    assert partial.finish(lambda handle: handle.writelines(partial.pieces())).read_text() == "row a\n"


def test_a_second_run_on_the_same_output_is_refused_while_the_first_writes(tmp_path):
    first = PartialOutput(tmp_path / "out.csv", SETTINGS)
    first.open()
    first.add("a", "row a\n")
    second = PartialOutput(tmp_path / "out.csv", SETTINGS)
    with pytest.raises(UserError, match="out.csv.partial is being written by another run of tag.py"):
        second.open()
    first.add("b", "row b\n")
    assert first.finish(lambda handle: handle.writelines(first.pieces())).read_text() == "row a\nrow b\n"
