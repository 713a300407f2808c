"""Tests for src/preprocess/annotations.py on small annotation files written in MTAT's exact quoting."""

import os

import numpy as np
import pytest

from src.core.errors import UserError
from src.core.tag_list import REFERENCE_TAGS as REFERENCE_ORDER
from src.core.tag_list import read_tag_list, write_tag_list
from src.model_utils.config import DEFAULT_CONFIG, load_yaml
from src.preprocess.annotations import (
    ANNOTATION_FORMATS,
    Annotations,
    label_matrix,
    read_annotations,
    read_mtat,
    resolve_clip_path,
    top_tags,
)

REFERENCE_TAGS = list(REFERENCE_ORDER)


def _quoted(fields) -> str:
    return "\t".join(f'"{field}"' for field in fields) + "\n"


def write_mtat(path, tag_names, matrix, clip_ids=None) -> os.PathLike:
    """An annotation file like annotations_final.csv: tabs, every field double-quoted."""
    matrix = np.asarray(matrix)
    clip_ids = range(2, 2 + len(matrix)) if clip_ids is None else clip_ids
    lines = [_quoted(["clip_id", *tag_names, "mp3_path"])]
    for clip_id, row in zip(clip_ids, matrix, strict=True):
        mp3 = f"{clip_id % 16:x}/artist-album-{clip_id:02d}-title-30-59.mp3"
        lines.append(_quoted([clip_id, *row.tolist(), mp3]))
    path.write_text("".join(lines), encoding="utf-8")
    return path


def matrix_with_counts(counts) -> np.ndarray:
    """(max(counts), len(counts)) 0/1 matrix whose column j sums to counts[j]."""
    return (np.arange(max(counts))[:, None] < np.asarray(counts)[None, :]).astype(np.uint8)


def test_read_annotations_parses_mtat_quoting(tmp_path):
    csv_path = write_mtat(tmp_path / "a.csv", ["guitar", "no voice"], [[1, 0], [0, 1], [1, 1]])
    ann = read_annotations(csv_path)
    np.testing.assert_array_equal(ann.clip_ids, [2, 3, 4])
    assert ann.tag_names == ["guitar", "no voice"]
    assert ann.tag_matrix.dtype == np.uint8
    np.testing.assert_array_equal(ann.tag_matrix, [[1, 0], [0, 1], [1, 1]])
    assert ann.mp3_paths[0] == "2/artist-album-02-title-30-59.mp3"
    assert ann.source == str(csv_path)


def test_read_annotations_accepts_crlf_lines(tmp_path):
    csv_path = write_mtat(tmp_path / "a.csv", ["x", "y"], [[1, 0]])
    csv_path.write_bytes(csv_path.read_bytes().replace(b"\n", b"\r\n"))
    np.testing.assert_array_equal(read_annotations(csv_path).tag_matrix, [[1, 0]])


def test_top_tags_counts_the_last_tag_column(tmp_path):
    names = [f"tag{j:03d}" for j in range(187)] + ["english"]
    counts = list(range(1, 188)) + [500]
    ann = read_annotations(write_mtat(tmp_path / "a.csv", names, matrix_with_counts(counts)))
    tags = top_tags(ann, n=50)
    assert tags[-1] == "english"
    assert tags[:-1] == [f"tag{j:03d}" for j in range(138, 187)]


def test_top_tags_reproduces_reference_tag_txt(tmp_path):
    rng = np.random.default_rng(0)
    fillers = [f"rare{j:03d}" for j in range(138)]
    names = REFERENCE_TAGS + fillers
    counts = [100 + 3 * j for j in range(50)] + rng.integers(1, 100, size=138).tolist()
    order = rng.permutation(len(names))
    matrix = matrix_with_counts([counts[j] for j in order])
    ann = read_annotations(write_mtat(tmp_path / "a.csv", [names[j] for j in order], matrix))
    assert top_tags(ann, n=50) == REFERENCE_TAGS


def test_top_tags_is_ascending_in_frequency(tmp_path):
    ann = read_annotations(write_mtat(tmp_path / "a.csv", ["x", "y", "z"], matrix_with_counts([5, 9, 2])))
    assert top_tags(ann, n=3) == ["z", "x", "y"]
    assert top_tags(ann, n=2) == ["x", "y"]


@pytest.mark.parametrize("names", [["a", "b", "c", "d"], ["a", "c", "b", "d"]])
def test_top_tags_breaks_ties_by_name_like_the_reference(tmp_path, names):
    # The reference sorts [frequency, name] pairs and keeps the last n: among equal counts
    # (b and c here) the alphabetically later name ranks higher, whatever the column order.
    ann = read_annotations(write_mtat(tmp_path / "a.csv", names, matrix_with_counts([3, 2, 2, 1])))
    assert top_tags(ann, n=2) == ["c", "a"]
    assert top_tags(ann, n=3) == ["b", "c", "a"]


def test_top_tags_counts_only_the_given_rows(tmp_path):
    matrix = [[1, 0], [1, 0], [1, 1], [0, 1], [0, 1]]
    ann = read_annotations(write_mtat(tmp_path / "a.csv", ["x", "y"], matrix))
    assert top_tags(ann, n=1) == ["y"]
    assert top_tags(ann, n=1, rows=np.array([0, 1, 2])) == ["x"]
    assert top_tags(ann, n=1, rows=np.array([True, True, False, False, False])) == ["x"]


def test_top_tags_rejects_more_tags_than_columns(tmp_path):
    ann = read_annotations(write_mtat(tmp_path / "few.csv", ["x", "y"], [[1, 0]]))
    with pytest.raises(UserError, match=r"few\.csv.*top 50 tags.*2 tag columns"):
        top_tags(ann, n=50)


def test_label_matrix_follows_the_given_order(tmp_path):
    ann = read_annotations(write_mtat(tmp_path / "a.csv", ["x", "y", "z"], [[1, 0, 1], [0, 1, 0]]))
    labels = label_matrix(ann, ["z", "x"])
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, [[1, 1], [0, 0]])
    with pytest.raises(UserError, match="'nope'"):
        label_matrix(ann, ["x", "nope"])


def test_annotations_can_be_built_directly():
    ann = Annotations(np.array([7]), ["x"], np.array([[1]], dtype=np.uint8), ["0/a.mp3"])
    assert top_tags(ann, n=1) == ["x"]


def _header(tags=("x", "y")) -> str:
    return _quoted(["clip_id", *tags, "mp3_path"])


@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"bad\.csv is empty"),
        (_quoted(["id", "x", "mp3_path"]), r"bad\.csv, line 1: first column is 'id', expected 'clip_id'"),
        (_quoted(["clip_id", "x", "path"]), r"bad\.csv, line 1: last column is 'path', expected 'mp3_path'"),
        (_header(("x", "x")), r"bad\.csv, line 1: tag columns appear twice: x"),
        (_header(), r"bad\.csv has a header but no clip rows"),
        (
            _header() + _quoted([2, 1, 0, "0/a.mp3"]) + _quoted([3, 1, "0/b.mp3"]),
            r"bad\.csv, line 3: 3 fields, expected 4",
        ),
        (
            _header() + _quoted([2, 1, 2, "0/a.mp3"]),
            r"bad\.csv, line 2, column 'y': value '2', expected '0' or '1'",
        ),
        (_header() + _quoted(["2a", 1, 0, "0/a.mp3"]), r"bad\.csv, line 2: clip_id '2a' is not"),
        (
            _header() + _quoted([2, 1, 0, "0/a.mp3"]) + _quoted([2, 0, 1, "0/b.mp3"]),
            r"bad\.csv, line 3: clip_id 2 already appears on line 2",
        ),
        (
            _header() + _quoted([2147483648, 1, 0, "0/a.mp3"]),
            r"bad\.csv, line 2: clip_id 2147483648 does not fit the int32 id column .*at most 2147483647",
        ),
        ('"clip_id","x","mp3_path"\n"2","1","0/a.mp3"\n', r"bad\.csv is comma-delimited; .*tab-separated"),
        ("clip_id,x,mp3_path\n2,1,0/a.mp3\n", r"bad\.csv is comma-delimited"),
    ],
    ids=[
        *("empty", "no-clip_id", "no-mp3_path", "dup-tag", "no-rows", "fields", "value", "id", "dup-id"),
        *("int32", "comma-quoted", "comma-plain"),
    ],
)
def test_read_annotations_rejects_malformed_files(tmp_path, text, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        read_annotations(bad)


def test_read_annotations_accepts_a_byte_order_mark(tmp_path):
    csv_path = write_mtat(tmp_path / "a.csv", ["x", "y"], [[1, 0]], clip_ids=[2147483647])
    csv_path.write_bytes(b"\xef\xbb\xbf" + csv_path.read_bytes())
    ann = read_annotations(csv_path)
    assert ann.tag_names == ["x", "y"] and ann.clip_ids.tolist() == [2147483647]


def test_read_annotations_rejects_missing_file(tmp_path):
    with pytest.raises(UserError, match=r"absent\.csv does not exist"):
        read_annotations(tmp_path / "absent.csv")


def test_info_format_choices_are_the_annotation_format_table():
    values, _, choices = load_yaml(DEFAULT_CONFIG)
    assert choices["info_format"] == list(ANNOTATION_FORMATS)
    assert values["info_format"] == "mtat" and ANNOTATION_FORMATS["mtat"] is read_mtat


def test_read_annotations_reads_through_the_table_and_names_an_unknown_format(tmp_path):
    csv_path = write_mtat(tmp_path / "a.csv", ["guitar"], [[1], [0]])
    np.testing.assert_array_equal(read_annotations(csv_path, "mtat").tag_matrix, read_mtat(csv_path).tag_matrix)
    with pytest.raises(
        UserError, match=r"info_format='jsonl' is not one of \['msd_lastfm', 'mtat', 'mtg_jamendo', 'path_tags'\]"
    ):
        read_annotations(csv_path, "jsonl")


def test_resolve_clip_path_joins_inside_the_root(tmp_path):
    assert resolve_clip_path(tmp_path, "f/a-b-01-c-30-59.mp3") == tmp_path / "f" / "a-b-01-c-30-59.mp3"


@pytest.mark.parametrize("mp3_path", ["../x.mp3", "/etc/passwd", "a/../../x.mp3", "", ".", "a/\x00.mp3"])
def test_resolve_clip_path_rejects_traversal(tmp_path, mp3_path):
    with pytest.raises(UserError, match="clip path") as info:
        resolve_clip_path(tmp_path / "audio", mp3_path)
    assert repr(mp3_path) in str(info.value)


def test_resolve_clip_path_rejects_symlink_out_of_the_root(tmp_path):
    root, outside = tmp_path / "audio", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "f").symlink_to(outside)
    with pytest.raises(UserError, match=r"'f/x\.mp3' resolves outside the audio root through a symbolic link"):
        resolve_clip_path(root, "f/x.mp3")
    assert resolve_clip_path(root, "f/x.mp3", follow_symlinks=True) == root / "f" / "x.mp3"


@pytest.mark.parametrize("mp3_path", ["../x.mp3", "/tmp/x.mp3", "f/../../x.mp3", ""])
def test_follow_symlinks_still_refuses_traversal_and_absolute_paths(tmp_path, mp3_path):
    with pytest.raises(UserError, match="clip path"):
        resolve_clip_path(tmp_path, mp3_path, follow_symlinks=True)


def test_resolve_clip_path_allows_symlink_within_the_root(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "f").symlink_to(tmp_path / "real")
    assert resolve_clip_path(tmp_path, "f/x.mp3") == tmp_path / "f" / "x.mp3"


def test_tag_list_round_trip(tmp_path):
    path = tmp_path / "tag.txt"
    path.write_text("stale\n", encoding="utf-8")
    write_tag_list(path, REFERENCE_TAGS)
    assert path.read_text(encoding="utf-8").startswith("choral\nfemale voice\nmetal\n")
    assert read_tag_list(path) == REFERENCE_TAGS
    assert os.listdir(tmp_path) == ["tag.txt"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_write_tag_list_rejects_unwritable_tags(tmp_path):
    with pytest.raises(UserError, match="one per line"):
        write_tag_list(tmp_path / "tag.txt", ["ok", "two\nlines"])
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize(
    "text, message",
    [("", "is empty"), ("a\n\nb\n", "line 2: empty tag"), ("a\nb\na\n", "line 3: tag 'a' already on line 1")],
)
def test_read_tag_list_rejects_bad_files(tmp_path, text, message):
    path = tmp_path / "tag.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        read_tag_list(path)


def test_read_tag_list_rejects_missing_file(tmp_path):
    with pytest.raises(UserError, match=r"tag\.txt does not exist"):
        read_tag_list(tmp_path / "tag.txt")
