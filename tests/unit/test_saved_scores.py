"""src/evaluation/saved_scores.py: eval.py's per-clip scores file round-trips as plain arrays and refuses anything
else."""

import numpy as np
import pytest

from src.core.errors import UserError
from src.core.file_names import scores_file
from src.evaluation.saved_scores import SplitScores, load, save


def _scores() -> SplitScores:
    rng = np.random.default_rng(0)
    return SplitScores((rng.random((6, 3)) < 0.4).astype(np.int32), rng.random((6, 3)).astype(np.float32),
                       np.arange(10, 16, dtype=np.int32), ["rock", "piano", "female vocal"])  # fmt: skip


def test_scores_round_trip_without_pickles_beside_the_result(tmp_path):
    path = save(scores_file(tmp_path / "eval_test.json"), _scores())
    assert path == tmp_path / "eval_test.scores.npz"
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == ["ids", "labels", "scores", "tags"] and data["tags"].dtype.kind == "U"
    found, expected = load(path), _scores()
    for name in ("labels", "scores", "ids"):
        np.testing.assert_array_equal(getattr(found, name), getattr(expected, name))
    assert found.tags == expected.tags
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left behind


def _pickled(path):
    arrays = {name: getattr(_scores(), name) for name in ("labels", "scores", "ids")}
    np.savez(path, **arrays, tags=np.array([object()] * 3))


def _single_array(path):
    with open(path, "wb") as handle:
        np.save(handle, np.zeros(3))


def _mismatched(path):
    found = _scores()
    np.savez(path, labels=found.labels, scores=found.scores[:5], ids=found.ids, tags=np.array(found.tags))


@pytest.mark.parametrize(
    "write, message",
    [
        (lambda path: path.write_bytes(b"not a zip"), "not a scores file"),
        (_single_array, "not a scores file"),
        (_pickled, "not a scores file"),
        (_mismatched, r"expected labels and scores \(N, C\)"),
    ],
    ids=["not-a-zip", "a-single-array", "pickled-tags", "shapes-that-do-not-fit"],
)
def test_a_file_eval_py_did_not_write_is_a_one_line_error(tmp_path, write, message):
    bad = tmp_path / "bad.scores.npz"
    write(bad)
    with pytest.raises(UserError, match=message) as caught:
        load(bad)
    assert str(bad) in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_file_names_the_switch_that_writes_it(tmp_path):
    with pytest.raises(UserError, match="eval.py --save_scores True writes it"):
        load(tmp_path / "eval_val.scores.npz")
