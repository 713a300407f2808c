"""Scores (or embeddings) of a trained network on a whole split of a dataset folder, for validation,
eval.py and train_head.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from src.core.errors import UserError
from src.dataset import create_dataset


def predict(
    network,
    mr_dir: str | Path,
    split: str,
    batch_size: int,
    num_classes: int,
    num_parallel_workers: int = 2,
    progress: bool = True,
    embeddings: bool = False,
    with_ids: bool = False,
) -> tuple[np.ndarray, ...]:
    """Probabilities and labels for every clip of a split, in file order: ((N, C), (N, C)); with `embeddings`,
    the (N, D) embeddings before the dense layer instead of the probabilities (num_classes: the dataset's);
    with `with_ids`, the clip ids (N,) int32 of the rows (the MindRecord `id`) follow, for files that name
    each clip (eval.py --save_scores)."""
    network.set_train(False)
    cell = network
    if embeddings:
        from src.inference.with_embedding import TagsAndEmbedding

        cell = TagsAndEmbedding(network)
    data = create_dataset(
        mr_dir, split, batch_size, num_classes, training=False, num_parallel_workers=num_parallel_workers, with_ids=True
    )
    scores, labels, ids = [], [], []
    total = data.get_dataset_size()
    for clip_ids, feature, label in tqdm(
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
        ids.append(clip_ids.asnumpy().reshape(-1))
    network.set_train(True)
    if not scores:
        raise UserError(f"split '{split}' in {mr_dir} has no clips to evaluate")
    found = np.concatenate(scores), np.concatenate(labels).astype(np.int32)
    return (*found, np.concatenate(ids).astype(np.int32)) if with_ids else found
