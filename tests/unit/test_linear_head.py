"""src/heads: the linear head's file format (no pickles), its fit folded over standardization, the max-F1
thresholds (the pooled one for a tag with too few val positives, recorded in the sidecar; a head written
before that guard reads as unguarded), and the cross-validation scored with src.evaluation.metrics."""

import json

import numpy as np
import pytest

from src.core.errors import UserError
from src.evaluation.thresholds import PER_TAG, POOLED, Guard, pooled_threshold
from src.heads import fit
from src.heads.linear import LinearHead, check_fits, check_head_target, load_head, sidecar
from src.heads.training import f1_at_thresholds, train_head


def _head(tags=("a", "b", "c"), dim=4, seed=0) -> LinearHead:
    rng = np.random.default_rng(seed)
    count = len(tags)
    return LinearHead(rng.normal(size=(count, dim)), rng.normal(size=count), rng.uniform(size=count), list(tags))


def test_a_head_round_trips_through_npz_and_sidecar_without_pickles(tmp_path):
    head = _head()
    path = head.save(tmp_path / "h.npz")
    with np.load(path, allow_pickle=False) as data:  # every array loads without pickle
        assert sorted(data.files) == ["bias", "tags", "thresholds", "weights"]
        assert data["tags"].dtype.kind == "U"
    loaded = load_head(path)
    np.testing.assert_array_equal(loaded.weights, head.weights)
    np.testing.assert_array_equal(loaded.thresholds, head.thresholds)
    assert loaded.tags == head.tags and loaded.info["format"] == "fcn4-linear-head"
    assert json.loads(sidecar(path).read_text())["tags"] == head.tags


def test_predict_is_the_sigmoid_of_the_affine_map():
    head = _head()
    x = np.random.default_rng(1).normal(size=(5, 4)) * 30  # large logits: no overflow warning, still in [0, 1]
    expected = 1.0 / (1.0 + np.exp(-(x @ head.weights.T + head.bias)))
    np.testing.assert_allclose(head.predict(x), expected, atol=1e-6)


def test_only_an_earlier_head_may_be_replaced(tmp_path):
    path = _head().save(tmp_path / "h.npz")
    assert check_head_target(path) == path
    (tmp_path / "other.npz").write_bytes(b"mine")
    with pytest.raises(UserError, match="exists and is not a head train_head.py wrote"):
        check_head_target(tmp_path / "other.npz")
    with pytest.raises(UserError, match=r"ending in \.npz"):
        check_head_target(tmp_path / "h.pkl")


@pytest.mark.parametrize("content", [b"not a zip", b""])
def test_a_file_that_is_not_a_head_is_one_line(tmp_path, content):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(content)
    with pytest.raises(UserError, match="not a linear head") as caught:
        load_head(bad)
    assert "\n" not in str(caught.value)


def test_a_single_npy_array_is_not_a_head(tmp_path):
    bad = tmp_path / "single.npz"
    with open(bad, "wb") as handle:
        np.save(handle, np.zeros(3))
    with pytest.raises(UserError, match="a single array"):
        load_head(bad)


def test_a_pickled_array_is_refused(tmp_path):
    bad = tmp_path / "pickled.npz"
    np.savez(bad, weights=np.array([object()]), bias=np.zeros(1), thresholds=np.zeros(1), tags=np.array(["a"]))
    with pytest.raises(UserError, match="not a linear head"):
        load_head(bad)


def test_a_head_for_other_embeddings_is_refused():
    with pytest.raises(UserError, match="4-d embeddings, m.onnx gives 2048-d"):
        check_fits(_head(), 2048, "m.onnx")


def test_f1_at_thresholds_counts_decisions_as_a_direct_count_does():
    rng = np.random.default_rng(3)
    labels = (rng.uniform(size=(60, 4)) < 0.3).astype(int)
    scores = np.round(rng.uniform(size=(60, 4)) * 0.5 + labels * 0.4, 2)  # ties included
    labels[:, 3] = 0
    thresholds = [0.5, 0.41, None, 0.2]
    found = f1_at_thresholds(labels, scores, thresholds, ["a", "b", "c", "d"])
    decided = scores >= np.array([0.5, 0.41, np.inf, 0.2])
    per_tag = [
        2 * (decided[:, c] & (labels[:, c] == 1)).sum() / (decided[:, c].sum() + labels[:, c].sum()) for c in range(3)
    ]
    tp = (decided & (labels == 1)).sum()
    assert found["micro_f1"] == pytest.approx(2 * tp / (decided.sum() + labels.sum()), abs=1e-5)
    assert found["macro_f1"] == pytest.approx(np.mean(per_tag), abs=1e-5)  # tag d has no positive: left out


def test_a_tag_without_positives_on_val_is_never_given():
    head = LinearHead(np.zeros((2, 3)), np.zeros(2), np.array([0.4, np.nan]), ["a", "b"])
    assert head.decision_thresholds() == [0.4, None]


def test_the_fit_folds_standardization_into_raw_embedding_weights():
    rng = np.random.default_rng(4)
    x = rng.normal(5.0, 3.0, size=(80, 6))
    y = np.stack([(x[:, 0] > 5).astype(int), (x[:, 1] + x[:, 2] > 10).astype(int), np.zeros(80, int)], axis=1)
    weights, bias = fit.fit(x, y, c=10.0, seed=0)
    probabilities = fit.probabilities(x, weights, bias)
    assert ((probabilities[:, :2] > 0.5) == y[:, :2]).mean() > 0.9
    assert np.all(probabilities[:, 2] < 1e-4) and np.all(weights[2] == 0)  # a tag without positives


def test_cross_validation_reports_every_fold_with_the_project_metrics():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(50, 3))
    y = np.stack([(x[:, 0] > 0).astype(int), (x[:, 1] > 0.5).astype(int)], axis=1)
    result = fit.cross_validate(x, y, ["a", "b"], folds=5, c=1.0, seed=0)
    assert result["folds"] == 5 and len(result["roc_auc_per_fold"]) == 5
    assert result["roc_auc"] == pytest.approx(np.mean(result["roc_auc_per_fold"]))
    assert 0.8 < result["roc_auc"] <= 1.0 and 0.0 < result["pr_auc"] <= 1.0


def test_a_tag_with_too_few_val_positives_gets_the_pooled_threshold_and_the_sidecar_says_so(tmp_path):
    rng = np.random.default_rng(5)
    split = {}
    for name, n in (("train", 40), ("val", 30)):
        labels = (rng.uniform(size=(n, 2)) < 0.5).astype(np.int32)
        split[name] = (rng.normal(size=(n, 3)) + labels @ np.array([[4.0, 0, 0], [0, 4.0, 0]]), labels)
    split["val"][1][:, 1] = 0
    split["val"][1][:2, 1] = 1  # tag b: 2 val positives
    head, report = train_head(split, ["a", "b"], folds=2, c=1.0, seed=0, guard=Guard(5, 0.4))
    val_scores = head.predict(split["val"][0])
    pooled = pooled_threshold(split["val"][1], val_scores, "f1", 0.0)  # b's 2 positives: too few for a pool
    assert report["threshold_sources"] == [PER_TAG, POOLED] and report["pooled_threshold"] == pytest.approx(pooled)
    assert report["threshold_positives"][1] == 2 and head.thresholds[1] == pytest.approx(pooled)
    path = LinearHead(head.weights, head.bias, head.thresholds, head.tags, report).save(tmp_path / "h.npz")
    loaded = load_head(path)
    assert loaded.threshold_sources() == [PER_TAG, POOLED]
    assert loaded.describe_thresholds() == (
        f"max F1, chosen on val, per tag, 1 tag(s) with < 5 positives at the pooled threshold {pooled:.3f}"
    )


def test_a_head_written_before_the_guard_reads_as_unguarded_every_tag_its_own(tmp_path):
    path = _head().save(tmp_path / "h.npz")  # a sidecar without the guard's keys, as earlier versions wrote
    loaded = load_head(path)
    assert loaded.threshold_sources() == [PER_TAG] * 3
    assert loaded.describe_thresholds() == "max F1, chosen on val, per tag, unguarded"
    sidecar(path).unlink()  # the .npz alone
    assert load_head(path).threshold_sources() == [PER_TAG] * 3
