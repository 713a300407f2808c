"""The file protocol of the model-zoo Ascend 310 inference chain, shared by every side of it.

    preprocess.py --preprocess_mode 310   writes  RESULT/00_data/fcn4_bs{B}_{i}.bin  (B, 1, 96, 1366) float32
                  (--export_input waveform:       RESULT/00_data/fcn4_bs{B}_{i}.bin  (B, 349440) float32)
                                          and     RESULT/label_ids.npy               (N, C) int32
    ascend310_infer/out/main (or src.inference.host_infer) writes result_Files/fcn4_bs{B}_{i}_0.bin  (B, C) float32
                                                  and time_Result/test_perform_static.txt
    postprocess.py                        reads   result_Files + label_ids.npy -> AUC

Files are raw little-endian float32 in C order, no header, as `ndarray.tofile` writes them.
Unlike the reference, which drops the split's last partial batch (`drop_remainder=True`)
and shuffles it, the split is written in file order and the last batch is padded with zero
features to B rows; label_ids.npy holds only the N real rows, so postprocess.py scores every
clip exactly once and its AUC equals eval.py's on the same split. The reference's
(batches, B, C) label layout is read too. A waveform model's batches hold the clips' 12 kHz
samples, decoded from the audio the dataset was made from, in the same order with the same labels.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from src.core.errors import UserError, first_line
from src.core.file_names import MANIFEST_FILE
from src.features import FEATURE_SHAPE, AudioError, load_audio, track_window

DATA_DIR = "00_data"
LABELS_FILE = "label_ids.npy"
RESULT_DIR = "result_Files"
TIME_DIR = "time_Result"
PERF_FILE = "test_perform_static.txt"
FLOAT_BYTES = 4

_RESULT_NAME = re.compile(r"fcn4_bs(\d+)_(\d+)_0\.bin")
_INPUT_NAME = re.compile(r"fcn4_bs\d+_\d+\.bin")


def input_name(batch_size: int, index: int) -> str:
    """Name of the index-th input batch: `fcn4_bs{B}_{i}.bin`."""
    return f"fcn4_bs{batch_size}_{index}.bin"


def output_name(input_path: str | Path, output_index: int) -> str:
    """Name of output j of an input `<stem>.bin`: `<stem>_{j}.bin`, as the C++ app writes it."""
    return f"{Path(input_path).stem}_{output_index}.bin"


def perf_summary(latencies_ms: list[float]) -> str:
    """The C++ app's test_perform_static.txt line for these per-batch Predict latencies."""
    if not latencies_ms:
        raise ValueError("no inference latency was recorded")
    mean = sum(latencies_ms) / len(latencies_ms)
    return f"NN inference cost average time: {mean:.3f} ms of infer_count {len(latencies_ms)}\n"


def pad_batch(features: np.ndarray, batch_size: int) -> np.ndarray:
    """(n, ...) float32 with n <= batch_size -> (batch_size, ...), zero rows appended."""
    missing = batch_size - features.shape[0]
    if missing < 0:
        raise ValueError(f"{features.shape[0]} rows do not fit a batch of {batch_size}")
    if missing == 0:
        return features
    return np.concatenate([features, np.zeros((missing, *features.shape[1:]), features.dtype)])


def check_result_path(result_path: str | Path, keep: dict[str, str | Path]) -> None:
    """UserError unless result_path may be replaced as a whole: it does not exist, is empty or holds
    only an earlier dump, and it is none of the folders `keep` names by config key (mr_path,
    checkpoint_path), the current folder, home or the root, nor a folder above one of them."""
    out = Path(result_path).resolve()
    guarded = {"the current folder": Path.cwd(), "your home folder": Path.home(), "the filesystem root": Path("/")}
    guarded |= {key: Path(path) for key, path in keep.items() if path}
    for what, folder in guarded.items():
        if out == folder.resolve() or out in folder.resolve().parents:
            raise UserError(
                f"result_path={str(result_path)!r} is {what} or a folder above it, which the 310 dump would "
                f"replace as a whole; choose a new or empty folder (e.g. ./preprocess_Result)"
            )
    if out.exists() and not out.is_dir():
        raise UserError(f"result_path={str(result_path)!r} is a file; the 310 dump needs a folder")
    foreign = [path.name for path in out.iterdir() if not _is_dump_output(path)] if out.is_dir() else []
    if foreign:
        raise UserError(
            f"result_path={str(result_path)!r} holds other files than a 310 dump ({', '.join(sorted(foreign)[:3])}), "
            f"which replacing it would delete; choose a new or empty folder"
        )


def _is_dump_output(path: Path) -> bool:
    """Whether path, inside a result folder, is what dump_split writes: label_ids.npy or 00_data/ of .bin batches."""
    if path.name == LABELS_FILE:
        return path.is_file()
    return (
        path.name == DATA_DIR
        and path.is_dir()
        and all(_INPUT_NAME.fullmatch(item.name) and item.is_file() for item in path.iterdir())
    )


def dump_split(
    mr_dir: str | Path,
    split: str,
    batch_size: int,
    num_classes: int,
    result_path: str | Path,
    num_parallel_workers: int = 2,
    keep: dict[str, str | Path] | None = None,
    input_kind: str = "logmel",
    info_path: str = "",
) -> dict:
    """Write one split's MindRecord as the protocol's input batches and labels; returns counts.

    input_kind "logmel" writes the stored features, "waveform" each clip's samples (clip_waveforms;
    info_path: the annotation file when it lived apart from the audio). Built in a hidden sibling
    folder and moved over `result_path` at the end, so an interrupted run leaves the previous result
    (or none), never a half-written one. Only a folder check_result_path accepts is replaced
    (mr_dir is always kept, plus the folders of `keep`).
    """
    from tqdm import tqdm

    from src.dataset import create_dataset

    if batch_size < 1:
        raise UserError(f"export_batch_size={batch_size}: the .bin batch size must be >= 1")
    check_result_path(result_path, {"mr_path": mr_dir, **(keep or {})})
    waveforms = clip_waveforms(mr_dir, info_path) if input_kind == "waveform" else None
    data = create_dataset(
        mr_dir, split, batch_size, num_classes, training=False, num_parallel_workers=num_parallel_workers, with_ids=True
    )
    out = Path(result_path)
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / DATA_DIR).mkdir(parents=True)
    labels = []
    batches = data.create_tuple_iterator(num_epochs=1, output_numpy=True)
    try:
        for index, (ids, feature, label) in enumerate(
            tqdm(batches, total=data.get_dataset_size(), desc=f"310 bins {split}", unit="batch", leave=False)
        ):
            rows = feature if waveforms is None else waveforms(ids)
            pad_batch(rows.astype(np.float32, copy=False), batch_size).tofile(
                tmp / DATA_DIR / input_name(batch_size, index)
            )
            labels.append(label.astype(np.int32))
        if not labels:
            raise UserError(f"split '{split}' in {mr_dir} has no clips to write")
        np.save(tmp / LABELS_FILE, np.concatenate(labels), allow_pickle=False)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    clips = sum(len(batch) for batch in labels)
    return {"clips": clips, "batches": len(labels), "padded_rows": len(labels) * batch_size - clips}


def clip_waveforms(mr_dir: str | Path, info_path: str = "") -> Callable[[np.ndarray], np.ndarray]:
    """A function from clip ids (n,) to their samples (n, CLIP_SAMPLES) float32, decoded and cut as
    preprocessing did (load_audio, then fix_length, or the row's window of its track) from the audio the
    dataset in mr_dir was made from.

    The clip paths come from the annotation file its manifest records (audio_path/info_name, or
    info_path), checked by sha256 so that every clip is the one its label belongs to; a clip that
    cannot be decoded now is an error, since a missing row would misalign the labels.
    """
    from src.preprocess.annotations import read_annotations, resolve_clip_path
    from src.preprocess.manifest import read_manifest
    from src.preprocess.plan import annotations_sha256
    from src.preprocess.windows import track_rows

    manifest = read_manifest(mr_dir) or {}
    settings, root = manifest.get("config", {}), manifest.get("paths", {}).get("audio_path")
    if root is None or "annotations_sha256" not in settings:
        raise UserError(
            f"{Path(mr_dir) / MANIFEST_FILE} is missing or records no audio_path: export_input=waveform reads "
            f"the clips from the audio the dataset was made from (re-run preprocess.py)"
        )
    csv_path = Path(info_path) if info_path else Path(root) / settings["info_name"]
    annotations = read_annotations(csv_path, settings.get("info_format", "mtat")) if csv_path.exists() else None
    if annotations is None or annotations_sha256(annotations) != settings["annotations_sha256"]:
        raise UserError(
            f"annotation file {csv_path} is missing or not the one {mr_dir} was made from (sha256 differs); "
            f"export_input=waveform needs it to find each clip's audio (set info_path)"
        )
    tracks, window, count, ids = track_rows(
        annotations.clip_ids, annotations.durations, settings.get("track_windows", 1), csv_path
    )
    rows = {
        int(i): (annotations.mp3_paths[t], int(k), int(n))
        for i, t, k, n in zip(ids, tracks, window, count, strict=True)
    }

    def waveform(clip_id: int) -> np.ndarray:
        if clip_id not in rows:
            raise UserError(f"clip {clip_id} of {mr_dir} is not in {csv_path}")
        mp3_path, index, windows = rows[clip_id]
        path = resolve_clip_path(root, mp3_path, settings.get("follow_symlinks", False))
        try:
            return track_window(load_audio(path), index, windows)
        except AudioError as exc:
            raise UserError(
                f"clip {clip_id} ({path}): {exc.reason}; export_input=waveform needs the audio of every clip "
                f"of the split (the labels must stay aligned)"
            ) from None

    return lambda ids: np.stack([waveform(int(clip_id)) for clip_id in ids])


def read_labels(label_path: str | Path) -> np.ndarray:
    """label_ids.npy as (N, C) int32: ours (N, C), or the reference's (batches, B, C) flattened."""
    path = Path(label_path)
    if not path.is_file():
        raise UserError(f"label file {path} does not exist (run preprocess.py --preprocess_mode 310 first)")
    try:
        labels = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise UserError(f"{path}: not a NumPy label array ({first_line(exc)})") from None
    if labels.ndim == 3:
        labels = labels.reshape(-1, labels.shape[-1])
    if labels.ndim != 2 or labels.size == 0:
        raise UserError(
            f"{path}: labels have shape {labels.shape}, expected (clips, tags) or (batches, batch_size, tags)"
        )
    return labels.astype(np.int32)


def read_results(result_dir: str | Path, labels: np.ndarray) -> np.ndarray:
    """Scores (N, C) float32 from the `fcn4_bs{B}_{i}_0.bin` outputs, matching `labels` (N, C).

    Every batch index 0..ceil(N / B) - 1 must be there with B * C floats; padding rows of the
    last batch are dropped.
    """
    result_dir = Path(result_dir)
    if not result_dir.is_dir():
        raise UserError(f"result folder {result_dir} does not exist (run the inference app first)")
    found = {}
    for path in result_dir.iterdir():
        match = _RESULT_NAME.fullmatch(path.name)
        if match:
            found[(int(match[1]), int(match[2]))] = path
    if not found:
        raise UserError(f"{result_dir} holds no fcn4_bs<B>_<i>_0.bin result file")
    sizes = sorted({size for size, _ in found})
    if len(sizes) > 1:
        raise UserError(f"{result_dir} mixes results of batch sizes {sizes}; remove the stale ones")
    batch_size = sizes[0]
    num_clips, num_classes = labels.shape
    expected = math.ceil(num_clips / batch_size)
    missing = [i for i in range(expected) if (batch_size, i) not in found]
    if missing or len(found) != expected:
        raise UserError(
            f"{result_dir}: {len(found)} result files of batch {batch_size} for {num_clips} labelled "
            f"clips, expected {expected} (indices 0..{expected - 1}; missing {missing[:5]})"
        )
    batches = [_read_batch(found[(batch_size, i)], batch_size, num_classes) for i in range(expected)]
    return np.concatenate(batches)[:num_clips]


def _read_batch(path: Path, batch_size: int, num_classes: int) -> np.ndarray:
    want = batch_size * num_classes * FLOAT_BYTES
    got = path.stat().st_size
    if got != want:
        raise UserError(
            f"{path}: {got} bytes, expected {want} ({batch_size} x {num_classes} float32 scores); "
            f"was the model exported for {num_classes} tags?"
        )
    return np.fromfile(path, dtype=np.float32).reshape(batch_size, num_classes)


def read_input(path: str | Path, batch_size: int | None, item_shape: tuple[int, ...] = FEATURE_SHAPE) -> np.ndarray:
    """One input .bin as (B, *item_shape) float32: (B, 1, 96, 1366) features, or (B, 349440) samples
    for a waveform model; UserError if its size is not B model inputs (batch_size None: any whole number)."""
    path = Path(path)
    got = path.stat().st_size
    item_bytes = math.prod(item_shape) * FLOAT_BYTES
    if batch_size is None:
        batch_size = max(1, got // item_bytes)
    want = batch_size * item_bytes
    if got != want:
        raise UserError(
            f"'{path}' holds {got} bytes but the model input needs {want} = {batch_size} x "
            f"{list(item_shape)} float32 (batch size or input kind differs from the export)"
        )
    return np.fromfile(path, dtype=np.float32).reshape(batch_size, *item_shape)
