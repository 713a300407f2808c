"""Data for comparing data-parallel runs with one process: a train split in which BatchNorm sees the same
statistics either way, and a checkpoint's weights without its step counters and run info."""

from pathlib import Path

import numpy as np

from src.dataset import SplitWriter, create_dataset, find_shards
from src.model import checkpoint


def paired_dataset(corpus: Path, out: Path, seed: int) -> int:
    """A one-file train split in which, at every position, rank 1 of 2 reads the clip rank 0 reads.

    Then each 2-clip-per-position global batch holds every clip twice, so BatchNorm's batch
    statistics over the global batch (one process) equal those over each rank's half (two ranks):
    the two runs do the same arithmetic up to float summation order. The seeded read order depends
    only on the row layout, so it is taken from a first copy with the same layout.
    """
    from mindspore.mindrecord import FileReader

    rows = []
    for split in ("train", "val"):
        reader = FileReader([str(p) for p in find_shards(corpus / "mr", split)])
        rows += [(row["feature"].reshape(1, 96, 1366), row["label"]) for row in reader.get_next()]
        reader.close()
    n = len(rows) // 2 * 2

    def write(content):
        writer = SplitWriter(out, "train", 1, 50)
        for clip_id in range(n):
            writer.add(clip_id, *content(clip_id))
        writer.commit()

    write(lambda clip_id: rows[clip_id])
    shards = [
        create_dataset(out, "train", 1, 50, True, seed=seed, num_shards=2, shard_id=r, with_ids=True) for r in (0, 1)
    ]
    order = [[int(ids[0]) for ids, _, _ in shard.create_tuple_iterator(output_numpy=True)] for shard in shards]
    source = {clip_id: rows[m] for m in range(n // 2) for clip_id in (order[0][m], order[1][m])}
    write(source.__getitem__)
    for name in ("tags.txt", "manifest.json"):
        (out / name).write_bytes((corpus / "mr" / name).read_bytes())
    return n


def checkpoint_weights(path: Path) -> dict[str, np.ndarray]:
    return {
        k: v.asnumpy()
        for k, v in checkpoint.read(path).items()
        if not k.startswith(("epoch", "step")) and k != checkpoint.RUN_INFO_KEY
    }


def one_process_and_two_ranks(corpus: Path, out: Path, global_batch: int, *extra: str) -> tuple[str, int]:
    """Train one epoch on the paired dataset of `corpus` in one process at `global_batch` and in a 2-rank
    msrun job at half of it (both with `extra`), and check that both end with the same weights and
    optimizer state: to float32 rounding, and BatchNorm's running variance, which is kept unbiased with
    n = batch x height x width of one device (at bn4, a 4 x 8 map: 128 per rank, 256 in one process), to
    5e-3. Returns (the final checkpoint's name, the clips of the dataset); `out` holds one/, two/, logs/."""
    from src.model_utils.config import get_config
    from tests.helpers.msrun_jobs import NARROW, free_port, run
    from tests.helpers.processes import run_script

    clips = paired_dataset(corpus, out / "mr", get_config([]).seed)
    common = ["--mr_path", str(out / "mr"), "--epoch_size", "1", "--eval_each_epoch", "False", *extra]
    single = run_script("train.py", *common, *NARROW, "--batch_size", str(global_batch), "--checkpoint_path",
                        str(out / "one"))  # fmt: skip
    assert single.returncode == 0, single.stderr[-3000:]
    run(2, out / "logs", *common, "--batch_size", str(global_batch // 2), "--checkpoint_path", str(out / "two"),
        MASTER_PORT=free_port())  # fmt: skip
    (name,) = [p.name for p in (out / "one").glob("MusicTagger-1_*.ckpt")]  # the epoch's end
    assert sorted(p.name for p in (out / "two").glob("*.ckpt")) == [name], "rank 0 alone writes"
    one, two = checkpoint_weights(out / "one" / name), checkpoint_weights(out / "two" / name)
    assert one.keys() == two.keys()
    assert np.abs(one["moment1.conv1.weight"]).max() > 0, "the comparison covers non-zero gradients"
    for key in one:
        rtol = 5e-3 if key.endswith("moving_variance") else 1e-4
        np.testing.assert_allclose(two[key], one[key], rtol=rtol, atol=1e-5, err_msg=key)
    return name, clips
