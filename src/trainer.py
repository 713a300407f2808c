"""The FCN-4 training loop: reference recipe plus per-epoch validation, best checkpoint and resume.

Reference recipe: Adam, BCE, fixed loss scale (gradients scaled by `loss_scale` through the
backward sensitivity and unscaled by the optimizer, no overflow skipping), checkpoints every
`save_step` steps. The loop is explicit (not Model.train) so that an interrupted run resumes
at the exact epoch and step with the same data order and optimizer state.

Data parallel (src/cluster/distributed.py): every rank runs this loop on its shard with batch_size
clips per step; rank 0 alone validates (on all val clips), writes and uploads. The ranks' agreement
(clips read, weights) is checked by src/cluster/replica_checks.py after every epoch.

train.py resolves the config into TrainOptions and calls train(); nothing here reads the config.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from src import checkpoint
from src.checkpoint import TrainState
from src.cluster import distributed, replica_checks
from src.cluster.distributed import World
from src.cluster.object_store import Mirror
from src.dataset import check_schema, count_rows, create_dataset, find_shards
from src.errors import UserError
from src.file_names import METRICS_FILE, STATE_FILE, best_checkpoint, step_checkpoint
from src.inference.predict import predict
from src.metrics import summarize
from src.model_loading import checkpoint_file
from src.model_utils.config import save_config
from src.musictagger import ModelParams, build_network, load_model_params

log = logging.getLogger("fcn4")


@dataclass(frozen=True)
class TrainOptions:
    """Everything the recipe reads, resolved once by train.py (the config stays at the edge).

    The fields are named like their config keys, so train.py builds it with `config.pick`.
    """

    mr_path: str
    checkpoint_path: str
    prefix: str
    model: ModelParams
    lr: float
    loss_scale: float
    mixed_precision: bool
    batch_size: int
    epoch_size: int
    seed: int
    save_step: int
    keep_checkpoint_max: int
    eval_each_epoch: bool
    eval_batch_size: int
    num_parallel_workers: int
    resume: bool
    pre_trained: bool
    model_name: str


def train(options: TrainOptions, tags: list[str], world: World, mirror: Mirror | None, run_config: dict) -> TrainState:
    """The whole recipe: record the run's config (run_config, saved as config.yaml), start (fresh,
    fine-tune or resume), fit."""
    trainer = Trainer(options, tags, world, mirror)
    if world.is_main:
        trainer.publish(save_config(run_config, trainer.out))
    trainer.start()
    return trainer.fit()


def build_train_cell(network, lr: float, loss_scale: float, mixed_precision: bool = False):
    """Network + BCE + Adam wrapped in a one-step train cell with the reference loss scaling."""
    import mindspore.amp as amp
    import mindspore.nn as nn

    from src.loss import BCELoss

    if mixed_precision:
        network = amp.auto_mixed_precision(network, "O2")
    optimizer = nn.Adam(network.trainable_params(), learning_rate=lr, loss_scale=loss_scale)
    train_cell = nn.TrainOneStepCell(nn.WithLossCell(network, BCELoss()), optimizer, sens=loss_scale)
    train_cell.set_train()
    return train_cell


class Trainer:
    """Runs epochs, writes checkpoints/metrics into options.checkpoint_path (rank 0 of `world`),
    and hands every file it writes to `mirror` (the train_url upload) when there is one."""

    def __init__(self, options: TrainOptions, tags: list[str], world: World, mirror: Mirror | None) -> None:
        self.options = options
        self.tags = tags
        self.world = world
        self.mirror = mirror
        self.out = Path(options.checkpoint_path)
        self.out.mkdir(parents=True, exist_ok=True)
        self.params = options.model
        self.network = build_network(self.params)
        self.train_cell = build_train_cell(self.network, options.lr, options.loss_scale, options.mixed_precision)
        self.state = TrainState()
        self.has_val = options.eval_each_epoch and _has_split(options.mr_path, "val")

    def start(self) -> None:
        """Fresh start, fine-tuning start (pre_trained) or resume, as the options ask."""
        cfg = self.options
        previous = TrainState.load(self.out)
        if cfg.resume:
            distributed.check_same(
                self.world,
                previous.global_step if previous and previous.checkpoint else -1,
                f"the last checkpoint's global step in {self.out}",
                "every rank must see the same checkpoint_path (shared storage, or train_url)",
            )
        if cfg.resume and previous and previous.checkpoint:
            self._check_same_model()
            checkpoint.load_into(self.train_cell, self.out / previous.checkpoint)
            self.state = previous
            log.info(
                "resumed from %s (epoch %d, step %d)", previous.checkpoint, previous.epoch + 1, previous.step_in_epoch
            )
        elif cfg.resume:
            log.info("resume: no earlier run in %s, starting afresh", self.out)
        elif cfg.pre_trained:
            path = checkpoint_file(cfg.checkpoint_path, "", cfg.model_name, cfg.prefix)
            checkpoint.load_into(self.network, path)
            log.info("fine-tuning from %s", path)
        if self.world.is_main:
            self.publish(self.params.save(self.out))

    def _check_same_model(self) -> None:
        saved = load_model_params(self.out)
        if saved is not None and saved != self.params:
            raise UserError(
                f"resume: {self.out} was trained with {saved.to_dict()}, this config asks for "
                f"{self.params.to_dict()}; use the same channels/pools/num_classes or another "
                f"checkpoint_path"
            )

    def fit(self) -> TrainState:
        """Every remaining epoch, each ending in a checkpoint; the state where the run ends."""
        cfg = self.options
        steps = self._steps_per_epoch()
        for epoch in range(self.state.epoch, cfg.epoch_size):
            self._run_epoch(epoch, steps)
            self.state.epoch, self.state.step_in_epoch = epoch + 1, 0
            self._save_step_checkpoint(epoch + 1, steps)
        return self.state

    def _steps_per_epoch(self) -> int:
        """Steps per epoch on every rank: each rank's whole batches of its 1/size of the clips."""
        cfg = self.options
        files = find_shards(cfg.mr_path, "train")
        check_schema(files, cfg.model.num_classes)
        rows = count_rows(files)
        steps = rows // self.world.size // cfg.batch_size
        if steps == 0:
            devices = f" x {self.world.size} devices" if self.world.size > 1 else ""
            raise UserError(f"train split has {rows} clips, fewer than batch_size={cfg.batch_size}{devices}")
        return steps

    def _epoch_data(self, epoch: int, steps: int):
        """This rank's (id, feature, label) batches; the same seed on every rank, so the shards are disjoint.

        MindDataset pads a short shard with repeated clips; taking `steps` batches on every rank
        leaves the padding (and the remainder) unread, so no clip is seen twice in an epoch.
        """
        cfg = self.options
        shards = {"num_shards": self.world.size, "shard_id": self.world.rank} if self.world.size > 1 else {}
        data = create_dataset(
            cfg.mr_path,
            "train",
            cfg.batch_size,
            cfg.model.num_classes,
            training=True,
            seed=cfg.seed + epoch,
            num_parallel_workers=cfg.num_parallel_workers,
            with_ids=True,
            **shards,
        ).take(steps)
        return data.skip(self.state.step_in_epoch) if self.state.step_in_epoch else data

    def _run_epoch(self, epoch: int, steps: int) -> None:
        cfg = self.options
        start_step = self.state.step_in_epoch
        losses, clips = [], []
        global_batch = cfg.batch_size * self.world.size
        began = time.perf_counter()
        bar = tqdm(
            total=steps,
            initial=start_step,
            desc=f"epoch {epoch + 1}/{cfg.epoch_size}",
            unit="step",
            disable=not self.world.is_main,
        )
        batches = self._epoch_data(epoch, steps).create_tuple_iterator(num_epochs=1)
        for step, (ids, feature, label) in enumerate(batches, start=start_step + 1):
            loss = float(self.train_cell(feature, label).asnumpy())
            if not np.isfinite(loss):
                raise UserError(f"loss became {loss} at epoch {epoch + 1} step {step}; lower lr or check the data")
            losses.append(loss)
            clips.append(ids.asnumpy())
            self.state.global_step += 1
            self.state.step_in_epoch = step
            rate = len(losses) * global_batch / (time.perf_counter() - began)
            bar.set_postfix(loss=f"{loss:.4f}", samples_s=f"{rate:.2f}")
            bar.update(1)
            if self.state.global_step % cfg.save_step == 0 and step < steps:
                self._save_step_checkpoint(epoch + 1, step)
        bar.close()
        seconds = time.perf_counter() - began
        record = {
            "epoch": epoch + 1,
            "global_step": self.state.global_step,
            "train_loss": replica_checks.mean_loss(self.world, losses),
            "samples_per_s": round(len(losses) * global_batch / seconds, 3),
            "seconds": round(seconds, 2),
        }
        record.update(replica_checks.replica_report(self.world, self.network, epoch, clips))
        record.update(self._validate(epoch))
        if self.world.is_main:
            self._append_metrics(record)
        log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k}={v}" for k, v in record.items() if k != "epoch"))

    def _validate(self, epoch: int) -> dict:
        """Validation ROC-AUC / PR-AUC on all val clips, computed once (rank 0); keeps the best checkpoint."""
        if not self.has_val or not self.world.is_main:
            return {}
        cfg = self.options
        scores, labels = predict(
            self.network, cfg.mr_path, "val", cfg.eval_batch_size, cfg.model.num_classes, cfg.num_parallel_workers
        )
        summary = summarize(labels, scores, self.tags)
        auc = summary["roc_auc"]
        if auc is not None and auc > self.state.best_auc:
            self.state.best_auc, self.state.best_epoch = auc, epoch + 1
            self.publish(checkpoint.save(self.train_cell, self.out / best_checkpoint(cfg.prefix), {"epoch": epoch + 1}))
        return {"val_roc_auc": _round(auc), "val_pr_auc": _round(summary["pr_auc"])}

    def _save_step_checkpoint(self, epoch: int, step: int) -> None:
        """PREFIX-EPOCH_STEP.ckpt (1-based epoch, as ModelCheckpoint names it), then the resume state;
        both uploaded before training goes on, so a killed job loses at most one interval."""
        cfg = self.options
        name = step_checkpoint(cfg.prefix, epoch, step)
        self.state.checkpoint = name
        if not self.world.is_main:
            return
        path = checkpoint.save(
            self.train_cell, self.out / name, {"epoch": self.state.epoch, "step": self.state.step_in_epoch}
        )
        self.state.save(self.out)
        self.publish(path, self.out / STATE_FILE)
        self._rotate()

    def _rotate(self) -> None:
        for old in checkpoint.rotate(self.out, self.options.prefix, self.options.keep_checkpoint_max):
            if self.mirror is not None:
                self.mirror.drop(old)

    def _append_metrics(self, record: dict) -> None:
        with open(self.out / METRICS_FILE, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        self.publish(self.out / METRICS_FILE)

    def publish(self, *paths: Path) -> None:
        """Upload files of checkpoint_path to train_url now (no-op without a mirror)."""
        if self.mirror is not None:
            self.mirror.push(*paths)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 5)


def _has_split(mr_dir: str | Path, split: str) -> bool:
    try:
        find_shards(mr_dir, split)
    except UserError:
        return False
    return True
