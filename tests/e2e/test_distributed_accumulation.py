"""Gradient accumulation in a real data-parallel job (msrun, 2 CPU workers): the accumulated gradients are
all-reduced once per optimizer step, so 2 ranks x batch 2 x 2 micro-batches train as 1 process x batch 4 x
2 micro-batches, once BatchNorm sees the same statistics (the paired dataset of test_distributed.py)."""

import json

import numpy as np

from src.model_utils.config import get_config
from tests.helpers.data_parallel import checkpoint_weights, paired_dataset
from tests.helpers.datasets import make_corpus
from tests.helpers.msrun_jobs import NARROW, free_port, run
from tests.helpers.processes import run_script


def test_two_accumulating_ranks_do_what_one_accumulating_process_does(tmp_path, mindspore_cpu):
    seed = get_config([]).seed
    clips = paired_dataset(make_corpus(tmp_path / "corpus", num_clips=24), tmp_path / "mr", seed)
    common = ["--mr_path", str(tmp_path / "mr"), "--epoch_size", "1", "--eval_each_epoch", "False"]
    common += ["--grad_accumulation", "2"]
    single = run_script("train.py", *common, *NARROW, "--batch_size", "4", "--checkpoint_path", str(tmp_path / "one"))
    assert single.returncode == 0, single.stderr[-3000:]
    run(
        2,
        tmp_path / "logs",
        *common,
        "--batch_size",
        "2",
        "--checkpoint_path",
        str(tmp_path / "two"),
        MASTER_PORT=free_port(),
    )

    steps = clips // 8
    name = f"MusicTagger-1_{steps}.ckpt"
    assert sorted(p.name for p in (tmp_path / "two").glob("*.ckpt")) == [name], "rank 0 alone writes"
    one, two = checkpoint_weights(tmp_path / "one" / name), checkpoint_weights(tmp_path / "two" / name)
    assert one.keys() == two.keys()
    assert np.abs(one["moment1.conv1.weight"]).max() > 0, "the comparison covers non-zero gradients"
    for key in one:
        # BatchNorm's unbiased running variance uses n = batch x height x width of one device (see test_distributed).
        rtol = 5e-3 if key.endswith("moving_variance") else 1e-4
        np.testing.assert_allclose(two[key], one[key], rtol=rtol, atol=1e-5, err_msg=key)
    metrics = json.loads((tmp_path / "two" / "metrics.jsonl").read_text())
    assert metrics["global_step"] == steps
    assert metrics["clips_per_rank"] == [steps * 4, steps * 4]
    assert metrics["distinct_clips"] == steps * 8 == clips, "every clip once, the two halves disjoint"
    assert metrics["replicas_in_sync"] is True
