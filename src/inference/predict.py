"""Scores (or embeddings) of a trained network on a whole split of a dataset folder, for validation,
eval.py and train_head.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from src.dataset import create_dataset
from src.errors import UserError


def predict(
    network,
    mr_dir: str | Path,
    split: str,
    batch_size: int,
    num_classes: int,
    num_parallel_workers: int = 2,
    progress: bool = True,
    embeddings: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and labels for every clip of a split, in file order: ((N, C), (N, C)); with `embeddings`,
    the (N, D) embeddings before the dense layer instead of the probabilities (num_classes: the dataset's)."""
    network.set_train(False)
    cell = network
    if embeddings:
        from src.inference.with_embedding import TagsAndEmbedding

        cell = TagsAndEmbedding(network)
    data = create_dataset(
        mr_dir, split, batch_size, num_classes, training=False, num_parallel_workers=num_parallel_workers
    )
    scores, labels = [], []
    total = data.get_dataset_size()
    for feature, label in tqdm(
        data.create_tuple_iterator(num_epochs=1),
        total=total,
        desc=f"eval {split}",
        unit="batch",
        disable=not progress,
        leave=False,
    ):
        outputs = cell(feature)
        scores.append((outputs[1] if embeddings else outputs).asnumpy())
        labels.append(label.asnumpy())
    network.set_train(True)
    if not scores:
        raise UserError(f"split '{split}' in {mr_dir} has no clips to evaluate")
    return np.concatenate(scores), np.concatenate(labels).astype(np.int32)
