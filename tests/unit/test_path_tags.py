"""info_format=path_tags: your own `path,tags` CSV -> Annotations -> a preprocessing plan with its tag list."""

import numpy as np
import pytest

from src.core.errors import UserError
from src.preprocess.annotations import read_annotations
from src.preprocess.plan import make_plan
from tests.helpers.datasets import format_spec


def _csv(tmp_path, text: str, name: str = "mine.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_paths_and_semicolon_separated_tags_are_read(tmp_path):
    path = _csv(tmp_path, '\ufeffpath,tags\nrock/a.mp3,guitar; loud\n"b, live.wav",\nc.flac,loud;loud;piano\n\n')
    notes = read_annotations(path, "path_tags")
    assert notes.mp3_paths == ["rock/a.mp3", "b, live.wav", "c.flac"]
    assert notes.tag_names == ["guitar", "loud", "piano"]  # sorted by name here; the plan orders by frequency
    np.testing.assert_array_equal(notes.tag_matrix, [[1, 1, 0], [0, 0, 0], [0, 1, 1]])
    np.testing.assert_array_equal(notes.clip_ids, [1, 2, 3])


@pytest.mark.parametrize(
    "text, needle",
    [
        ("", "line 1: expected the header 'path,tags' (info_format=path_tags), found nothing"),
        ("clip_id\tguitar\tmp3_path\n1\t1\ta.mp3\n", "line 1: expected the header 'path,tags'"),
        ("path,tags\n", "has a header but no clip rows"),
        ("path,tags\na.mp3,x,y\n", "line 2: 3 fields, expected 2"),
        ("path,tags\na.mp3,x\nb.mp3,y\na.mp3,z\n", "line 4: path 'a.mp3' already appears on line 2"),
        ("path,tags\na.mp3,\nb.mp3,;\n", "no clip has a tag"),
        ('path,tags\na.mp3,"x\ny"\n', "line 3: a tag holds a line break"),
    ],
)
def test_a_bad_file_is_one_line_naming_file_and_line(tmp_path, text, needle):
    with pytest.raises(UserError) as caught:
        read_annotations(_csv(tmp_path, text), "path_tags")
    assert needle in str(caught.value) and "mine.csv" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_plan_keeps_the_users_tags_in_ascending_frequency_and_records_the_format(tmp_path):
    rows = ["a.mp3,guitar;loud", "b.mp3,loud", "c.mp3,loud;piano", "d.mp3,guitar;loud", "../up.mp3,loud"]
    csv = _csv(tmp_path, "path,tags\n" + "\n".join(rows) + "\n")
    plan = make_plan(format_spec(tmp_path, csv, "path_tags", 3))
    assert plan.tags == ["piano", "guitar", "loud"]  # label 0 the least frequent, as for MTAT
    assert plan.settings["info_format"] == "path_tags"
    assert sorted(plan.mp3_paths) == sorted(p.split(",")[0] for p in rows)  # the unsafe path is refused by workers
    with pytest.raises(UserError, match="has 3 tag columns \\(set num_classes to at most 3\\)"):
        make_plan(format_spec(tmp_path, csv, "path_tags", 50))


def test_split_files_name_the_csv_paths(tmp_path):
    csv = _csv(tmp_path, "path,tags\na.mp3,x\nb.mp3,y\nc.mp3,x;y\n")
    (tmp_path / "train.txt").write_text("a.mp3\nc.mp3\n")
    (tmp_path / "val.txt").write_text("b.mp3\n")
    lists = {"train": str(tmp_path / "train.txt"), "val": str(tmp_path / "val.txt"), "test": ""}
    plan = make_plan(format_spec(tmp_path, csv, "path_tags", 2, method="file", lists=lists))
    assert dict(zip(plan.mp3_paths, plan.splits, strict=True)) == {"a.mp3": "train", "c.mp3": "train", "b.mp3": "val"}
