"""What the ranks of a data-parallel run agree on after each epoch: mean loss, clips read, weights.

Data parallelism fails silently when the shards overlap or a replica drifts, so every epoch's
metrics record how many clips each rank read, how many were distinct, and a weights digest per rank.
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np

from src.cluster.distributed import World, all_gather

log = logging.getLogger("fcn4")


def mean_loss(world: World, losses: list[float]) -> float | None:
    """Mean training loss of this epoch over all ranks (resumed epochs: the steps run since)."""
    totals = all_gather(world, np.array([sum(losses), len(losses)], np.float32)).sum(axis=0)
    return round(float(totals[0] / totals[1]), 5) if totals[1] else None


def replica_report(world: World, network, epoch: int, clips: list[np.ndarray]) -> dict:
    """Data-parallel checks, logged and in metrics.jsonl: the clips each rank read and how many
    were distinct (an overlap means broken sharding), and whether all replicas hold the same
    weights (a 28-bit digest of the trainable parameters per rank). Empty when standalone."""
    if world.size == 1:
        return {}
    counts, distinct = clips_read(world, clips)
    digests = all_gather(world, np.array([weights_digest(network)], np.int32))[:, 0]
    in_sync = bool(np.all(digests == digests[0]))
    if distinct != counts.sum():
        log.warning(
            "epoch %d: %d clips read but only %d distinct: the ranks' shards overlap", epoch + 1, counts.sum(), distinct
        )
    if not in_sync:
        log.warning("epoch %d: replicas hold different weights (digests %s)", epoch + 1, [f"{d:07x}" for d in digests])
    return {
        "clips_per_rank": counts.tolist(),
        "distinct_clips": distinct,
        "weights_digest": f"{digests[world.rank]:07x}",
        "replicas_in_sync": in_sync,
    }


def clips_read(world: World, clips: list[np.ndarray]) -> tuple[np.ndarray, int]:
    """(clips read per rank (size,), distinct clip ids over all ranks) for this epoch."""
    read = np.concatenate(clips) if clips else np.zeros(0, np.int32)
    counts = all_gather(world, np.array([read.size], np.int32))[:, 0]
    padded = np.full(int(counts.max()), -1, np.int32)
    padded[: read.size] = read
    everyone = all_gather(world, padded).ravel()
    return counts, len(set(everyone[everyone >= 0].tolist()))


def weights_digest(cell) -> int:
    """28-bit fingerprint of a cell's trainable parameters (fits int32 for all_gather)."""
    digest = hashlib.sha256()
    for param in cell.trainable_params():
        digest.update(param.name.encode())
        digest.update(np.ascontiguousarray(param.asnumpy()).tobytes())
    return int(digest.hexdigest()[:7], 16)
