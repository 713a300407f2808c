"""Fit a linear head: one scikit-learn logistic regression per tag on standardized frozen embeddings,
with k-fold cross-validation on the training clips, scored by this project's metrics (src.evaluation.metrics).

The standardization is folded into the weights, so the saved head is one affine map of raw embeddings.
A tag without both classes among the clips a model is fitted on gets a constant model (weights 0, the
log-odds of its one class clipped to CONSTANT_LOGIT).
"""

from __future__ import annotations

import numpy as np

from src.evaluation.metrics import summarize

CONSTANT_LOGIT = 10.0
MAX_ITER = 1000


def fit(embeddings: np.ndarray, labels: np.ndarray, c: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(weights (C, D), bias (C,)) so that sigmoid(embeddings @ weights.T + bias) is each tag's fitted probability."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = embeddings.mean(axis=0), embeddings.std(axis=0)
    scale[scale == 0] = 1.0
    standard = (embeddings - mean) / scale
    weights = np.zeros((labels.shape[1], embeddings.shape[1]))
    bias = np.zeros(labels.shape[1])
    for tag in range(labels.shape[1]):
        column = labels[:, tag]
        if column.min() == column.max():
            bias[tag] = CONSTANT_LOGIT if column[0] else -CONSTANT_LOGIT
            continue
        model = LogisticRegression(C=c, max_iter=MAX_ITER, random_state=seed).fit(standard, column)
        weights[tag] = model.coef_[0] / scale
        bias[tag] = model.intercept_[0] - float(np.dot(weights[tag], mean))
    return weights, bias


def probabilities(embeddings: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(N, C) probabilities of a fitted (weights, bias) on (N, D) embeddings."""
    from src.heads.linear import LinearHead

    count = len(bias)
    return LinearHead(weights, bias, np.zeros(count), [""] * count).predict(embeddings)


def cross_validate(
    embeddings: np.ndarray, labels: np.ndarray, tags: list[str], folds: int, c: float, seed: int
) -> dict:
    """Macro ROC-AUC and PR-AUC of `folds`-fold cross-validation (seeded shuffle): each fold scored by a head
    fitted on the others, as src.evaluation.metrics.summarize does; their mean, standard deviation and per-fold
    values."""
    from sklearn.model_selection import KFold

    rows = []
    for fitted, held in KFold(folds, shuffle=True, random_state=seed).split(embeddings):
        weights, bias = fit(embeddings[fitted], labels[fitted], c, seed)
        summary = summarize(labels[held], probabilities(embeddings[held], weights, bias), tags)
        rows.append((summary["roc_auc"], summary["pr_auc"]))
    result = {"folds": folds}
    for name, values in zip(("roc_auc", "pr_auc"), zip(*rows, strict=True), strict=True):
        kept = np.array([v for v in values if v is not None], dtype=np.float64)
        result[name] = float(kept.mean()) if kept.size else None
        result[f"{name}_std"] = float(kept.std()) if kept.size else None
        result[f"{name}_per_fold"] = list(values)
    return result
