"""The FCN-4 training loop: reference recipe plus per-epoch validation, best checkpoint and resume.

Reference recipe (src/training/train_step.py), checkpoints every `save_step` optimizer steps: with grad_accumulation
N a step takes N micro-batches, an epoch is whole steps, and every checkpoint (resume point) lies on a step
boundary. The loop is explicit (not Model.train) so that an interrupted run resumes at the exact epoch and
step with the same data order and optimizer state. Epoch records carry the peak RSS (src/training/memory.py).

Data parallel (src/cluster/distributed.py): every rank runs this loop on its shard with batch_size
clips per step; rank 0 alone validates (on all val clips), writes and uploads. The ranks' agreement
(clips read, weights) is checked by src/cluster/replica_checks.py after every epoch.

Nothing is written before every check has passed (src/training/run_folder.py), and rank 0 writes holding the
run folder's lock; Ctrl-C stops between steps, never inside a checkpoint save (src/training/interrupts.py).

train.py resolves the config into TrainOptions and calls train(); nothing here reads the config.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from src.cluster import replica_checks
from src.cluster.distributed import World
from src.cluster.object_store import Mirror
from src.core import run_lock
from src.core.errors import UserError
from src.core.file_names import METRICS_FILE, STATE_FILE, TRAIN_LOCK, best_checkpoint, split_shards, step_checkpoint
from src.core.fileio import check_writable_dir
from src.dataset import check_schema, count_rows, create_dataset, find_shards
from src.evaluation.metrics import summarize
from src.inference.predict import predict
from src.model import checkpoint
from src.model.checkpoint import TrainState
from src.model.loading import checkpoint_file
from src.musictagger import ModelParams, build_network
from src.training import finetune, memory, run_folder
from src.training.interrupts import Interrupts, stop_at_safe_points
from src.training.recipe_options import Schedule
from src.training.train_step import RECOMPUTE, TrainStep, build_train_cell, optimizer_steps

__all__ = ["TrainOptions", "Trainer", "build_train_cell", "train"]

log = logging.getLogger("fcn4")


@dataclass(frozen=True)
class TrainOptions:
    """Everything the recipe reads, resolved once by train.py with `config.pick` (fields named like config keys)."""

    mr_path: str
    checkpoint_path: str
    prefix: str
    model: ModelParams
    lr: float
    loss_scale: float
    mixed_precision: bool
    batch_size: int
    grad_accumulation: int
    recompute: str
    epoch_size: int
    seed: int
    save_step: int
    keep_checkpoint_max: int
    eval_each_epoch: bool
    eval_batch_size: int
    num_parallel_workers: int
    resume: bool
    overwrite: bool
    pre_trained: bool
    pre_trained_ckpt: str
    model_name: str
    weight_decay: float = 0.0
    schedule: Schedule = Schedule(lr=0.0005)


def train(options: TrainOptions, tags: list[str], world: World, mirror: Mirror | None, run_config: dict) -> TrainState:
    """The whole recipe: every check (a refused run changes nothing on disk), then, holding the run
    folder's lock on rank 0, record the run (run_config as config.yaml, the network's shape, the tags)
    and fit. SIGINT/SIGTERM end it with KeyboardInterrupt at a safe point."""
    lock = Path(options.checkpoint_path) / TRAIN_LOCK
    with stop_at_safe_points() as interrupts:
        if world.is_main:
            run_lock.check_free(lock, "train.py")
        trainer = Trainer(options, tags, world, mirror, interrupts)
        replaced = trainer.prepare()
        with run_lock.exclusive(lock, "train.py") if world.is_main else nullcontext():
            trainer.begin(replaced, run_config)
            return trainer.fit()


class Trainer:
    """Runs epochs, writes checkpoints/metrics into options.checkpoint_path (rank 0 of `world`),
    and hands every file it writes to `mirror` (the train_url upload) when there is one."""

    def __init__(
        self, options: TrainOptions, tags: list[str], world: World, mirror: Mirror | None, interrupts: Interrupts
    ) -> None:
        self.options = options
        self.out = Path(options.checkpoint_path)
        self.params = options.model
        self.tags = tags
        self.world = world
        self.mirror = mirror
        self.interrupts = interrupts
        self.network = build_network(self.params)
        self.network.recompute_blocks(RECOMPUTE[options.recompute])
        self.step = TrainStep(
            self.network,
            options.lr,
            options.loss_scale,
            options.mixed_precision,
            options.grad_accumulation,
            options.weight_decay,
        )
        self.train_cell = self.step.cell
        self.state = TrainState()
        self.steps = 0
        self.has_val = options.eval_each_epoch and bool(split_shards(options.mr_path, "val"))

    def prepare(self) -> list[Path]:
        """Every check, and the start (resume, fine-tune or fresh) loaded into the network; writes nothing.

        Returns the files of an older run in checkpoint_path that this new run replaces (--overwrite True).
        """
        cfg = self.options
        if self.world.is_main:
            check_writable_dir(self.out, "checkpoint_path")
        self.steps = self._steps_per_epoch()
        self._check_schedule()
        self.state.trained_with = run_folder.trained_with(cfg.batch_size, cfg.seed, cfg.mr_path, cfg.grad_accumulation)
        previous = run_folder.resume_point(self.out, self.world) if cfg.resume else None
        if previous is not None:
            run_folder.check_same_model(self.out, self.params)
            run_folder.check_resume(previous.trained_with, self.state.trained_with, self.out)
            checkpoint.load_into(self.train_cell, self.out / previous.checkpoint)
            previous.trained_with = self.state.trained_with
            self.state = previous
            log.info(
                "resumed from %s (epoch %d, step %d)", previous.checkpoint, previous.epoch + 1, previous.step_in_epoch
            )
            return []
        if cfg.pre_trained:
            source = checkpoint_file(cfg.checkpoint_path, cfg.pre_trained_ckpt, cfg.model_name, cfg.prefix)
            run_folder.check_source_survives(source, self.out, cfg.prefix)
            log.info("fine-tuning from %s: %s", source, finetune.load_pretrained(self.network, source, self.tags))
        return run_folder.check_new_run(self.out, cfg.prefix, cfg.overwrite, cfg.resume) if self.world.is_main else []

    def begin(self, replaced: list[Path], run_config: dict) -> None:
        """Clear what the checks allowed (an older run, stale temporaries of interrupted saves) and record
        this run beside its checkpoints: run_config as config.yaml, model_params.json, tags.txt (rank 0)."""
        if not self.world.is_main:
            return
        run_folder.clear(self.out, self.options.prefix, replaced)
        self.forget(*replaced)
        self.publish(*run_folder.record(self.out, run_config, self.params, self.tags))

    def fit(self) -> TrainState:
        """Every remaining epoch, each ending in a checkpoint; the state where the run ends."""
        for epoch in range(self.state.epoch, self.options.epoch_size):
            if self.options.schedule.should_stop(self.state):
                break
            memory.reset_peak()
            record = self._run_epoch(epoch, self.steps)
            val_auc = self._validate(record)
            record["peak_rss_gib"] = round(memory.peak_rss_gib(), 2)
            with self.interrupts.critical():
                self._end_epoch(epoch, record, val_auc)
        return self.state

    def _steps_per_epoch(self) -> int:
        """Optimizer steps per epoch on every rank: each rank's whole groups of grad_accumulation batches
        of its 1/size of the clips."""
        cfg = self.options
        files = find_shards(cfg.mr_path, "train")
        check_schema(files, cfg.model.num_classes)
        rows = count_rows(files)
        steps = rows // self.world.size // (cfg.batch_size * cfg.grad_accumulation)
        if steps == 0:
            accumulation = f" x grad_accumulation={cfg.grad_accumulation}" if cfg.grad_accumulation > 1 else ""
            devices = f" x {self.world.size} devices" if self.world.size > 1 else ""
            raise UserError(
                f"train split has {rows} clips, fewer than batch_size={cfg.batch_size}{accumulation}{devices}"
            )
        return steps

    def _check_schedule(self) -> None:
        """Early stopping and the plateau schedule read rank 0's validation ROC-AUC after every epoch."""
        schedule = self.options.schedule
        if not schedule.needs_validation:
            return
        what = f"patience={schedule.patience}" if schedule.patience else "lr_schedule=plateau"
        if not self.has_val:
            raise UserError(
                f"{what} needs a validation ROC-AUC after every epoch: eval_each_epoch True and a val split "
                f"in {self.options.mr_path}"
            )
        if self.world.size > 1:
            raise UserError(
                f"{what} decides on rank 0's validation alone, which data-parallel ranks do not share yet; "
                f"use lr_schedule constant or cosine and patience 0 with {self.world.size} devices"
            )

    def _epoch_data(self, epoch: int, steps: int):
        """This rank's (id, feature, label) batches; the same seed on every rank, so the shards are disjoint.

        MindDataset pads a short shard with repeated clips; taking the `steps` optimizer steps' batches on
        every rank leaves the padding (and the remainder) unread, so no clip is seen twice in an epoch.
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
        ).take(steps * cfg.grad_accumulation)
        done = self.state.step_in_epoch * cfg.grad_accumulation
        return data.skip(done) if done else data

    def _run_epoch(self, epoch: int, steps: int) -> dict:
        """The epoch's remaining optimizer steps (a step checkpoint every save_step); its metrics record."""
        cfg = self.options
        start_step = self.state.step_in_epoch
        losses, clips = [], []
        global_batch = cfg.batch_size * cfg.grad_accumulation * self.world.size
        began = time.perf_counter()
        bar = tqdm(
            total=steps,
            initial=start_step,
            desc=f"epoch {epoch + 1}/{cfg.epoch_size}",
            unit="step",
            disable=not self.world.is_main,
        )
        batches = self._epoch_data(epoch, steps).create_tuple_iterator(num_epochs=1)
        for step, group in enumerate(optimizer_steps(batches, cfg.grad_accumulation), start=start_step + 1):
            self.step.set_lr(cfg.schedule.step_lr(self.state, steps * cfg.epoch_size))
            loss = self.step.step([(feature, label) for _, feature, label in group])
            if not np.isfinite(loss):
                raise UserError(f"loss became {loss} at epoch {epoch + 1} step {step}; lower lr or check the data")
            losses.append(loss)
            clips.extend(ids.asnumpy() for ids, _, _ in group)
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
            "lr": float(f"{self.step.lr:.6g}"),
        }
        record.update(replica_checks.replica_report(self.world, self.network, epoch, clips))
        return record

    def _validate(self, record: dict) -> float | None:
        """Validation ROC-AUC / PR-AUC on all val clips, computed once (rank 0), added to record; the ROC-AUC."""
        if not self.has_val or not self.world.is_main:
            return None
        cfg = self.options
        scores, labels = predict(
            self.network, cfg.mr_path, "val", cfg.eval_batch_size, cfg.model.num_classes, cfg.num_parallel_workers
        )
        summary = summarize(labels, scores, self.tags)
        record.update(val_roc_auc=_round(summary["roc_auc"]), val_pr_auc=_round(summary["pr_auc"]))
        return summary["roc_auc"]

    def _end_epoch(self, epoch: int, record: dict, val_auc: float | None) -> None:
        """The best checkpoint if val_auc is the best yet, the metrics line, the epoch's checkpoint and state."""
        if val_auc is not None and val_auc > self.state.best_auc:
            self.state.best_auc, self.state.best_epoch = val_auc, epoch + 1
            best = self.out / best_checkpoint(self.options.prefix)
            self.publish(self._save(best, {"epoch": epoch + 1}))
        if self.world.is_main:
            with open(self.out / METRICS_FILE, "a") as handle:
                handle.write(json.dumps(record) + "\n")
            self.publish(self.out / METRICS_FILE)
        log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k}={v}" for k, v in record.items() if k != "epoch"))
        self.state.epoch, self.state.step_in_epoch = epoch + 1, 0
        if change := self.options.schedule.end_epoch(self.state):
            log.info("epoch %d: %s", epoch + 1, change)
        if self.options.schedule.should_stop(self.state) and epoch + 1 < self.options.epoch_size:
            self.state.stopped_early = True
            log.info(
                "early stop after epoch %d: no better val ROC-AUC for %d epochs (best %.4f at epoch %d)",
                epoch + 1,
                self.options.schedule.patience,
                self.state.best_auc,
                self.state.best_epoch,
            )
        self._save_step_checkpoint(epoch + 1, self.steps)

    def _save_step_checkpoint(self, epoch: int, step: int) -> None:
        """PREFIX-EPOCH_STEP.ckpt (1-based epoch, as ModelCheckpoint names it), then the resume state;
        both uploaded before training goes on, so a killed job loses at most one interval."""
        name = step_checkpoint(self.options.prefix, epoch, step)
        self.state.checkpoint = name
        if not self.world.is_main:
            return
        with self.interrupts.critical():
            path = self._save(self.out / name, {"epoch": self.state.epoch, "step": self.state.step_in_epoch})
            self.state.save(self.out)
            self.publish(path, self.out / STATE_FILE)
            self.forget(*checkpoint.rotate(self.out, self.options.prefix, self.options.keep_checkpoint_max))

    def _save(self, path: Path, extra: dict) -> Path:
        """A checkpoint that carries the run's network shape and tag names, wherever it is moved."""
        return checkpoint.save(self.train_cell, path, extra, {"model": self.params.to_dict(), "tags": self.tags})

    def publish(self, *paths: Path) -> None:
        """Upload files of checkpoint_path to train_url now (no-op without a mirror)."""
        if self.mirror is not None:
            self.mirror.push(*paths)

    def forget(self, *paths: Path) -> None:
        """Delete the copies of removed files of checkpoint_path from train_url (no-op without a mirror)."""
        if self.mirror is not None:
            self.mirror.drop(*paths)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 5)
