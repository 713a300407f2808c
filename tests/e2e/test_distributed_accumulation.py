"""Gradient accumulation in a real data-parallel job (msrun, 2 CPU workers): the accumulated gradients are
all-reduced once per optimizer step, so 2 ranks x batch 2 x 2 micro-batches train as 1 process x batch 4 x
2 micro-batches, once BatchNorm sees the same statistics (the paired dataset of test_distributed.py)."""

import json

from tests.helpers.data_parallel import one_process_and_two_ranks
from tests.helpers.datasets import make_corpus


def test_two_accumulating_ranks_do_what_one_accumulating_process_does(tmp_path, mindspore_cpu):
    name, clips = one_process_and_two_ranks(make_corpus(tmp_path / "corpus", num_clips=24), tmp_path, 4,
                                            "--grad_accumulation", "2")  # fmt: skip
    steps = clips // 8
    metrics = json.loads((tmp_path / "two" / "metrics.jsonl").read_text())
    assert metrics["global_step"] == steps
    assert metrics["clips_per_rank"] == [steps * 4, steps * 4]
    assert metrics["distinct_clips"] == steps * 8 == clips, "every clip once, the two halves disjoint"
    assert metrics["replicas_in_sync"] is True
