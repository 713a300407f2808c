"""The model zoo's trained FCN-4 (MindSpore Hub) under one model name, `zoo`: downloaded once into a cache
folder, verified by its sha256, used offline from then on.

    python tag.py --model zoo song.mp3          python eval.py --ckpt_file zoo
    python export.py --ckpt_file zoo            python train.py --pre_trained True --pre_trained_ckpt zoo

Cache folder: $FCN4_CACHE, else $XDG_CACHE_HOME/fcn4, else ~/.cache/fcn4. Without a network, download
ZOO_URL elsewhere and place it there under its own name. The checkpoint carries no tag names and no
network shape: its shape comes from its weights (the reference widths), its tags are the reference's 50.
A file named `zoo` in the working folder is never silently shadowed: the name is refused until it is
written as a path (./zoo). Nothing here imports MindSpore (tag.py's ONNX path imports this module).
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from src.core.errors import UserError, first_line
from src.core.fileio import atomic_path, file_sha256
from src.core.tag_list import REFERENCE_TAGS

log = logging.getLogger("fcn4")

ZOO_NAME = "zoo"
ZOO_URL = "https://download.mindspore.cn/models/r1.7/fcn4_ascend_v170_musictagging_research_audio_acc90.89.ckpt"
ZOO_SHA256 = "bdb7116d2dc25ae80381a882b9d8a75f857e53a920561015e3a9245cf469d284"
ZOO_FILE = ZOO_URL.rsplit("/", 1)[1]  # its name in the cache folder, whatever URL it came from
ZOO_TAGS = REFERENCE_TAGS  # the checkpoint's output order: the reference tag.txt
# Test suite only: a local server's URL and the hash of the file it serves. Users never set these.
URL_VARIABLE = "FCN4_ZOO_URL"
SHA256_VARIABLE = "FCN4_ZOO_SHA256"
CACHE_VARIABLE = "FCN4_CACHE"
SPLIT_WARNING = (
    "the model zoo's FCN-4 was trained on an unseeded random 80/20 split of all of MTAT: most MTAT clips of any "
    "split were in its training data, so its AUC on them overstates its accuracy"
)
TIMEOUT_S = 60.0
CHUNK = 1 << 20


@dataclass(frozen=True)
class Source:
    """Where the zoo checkpoint is downloaded from and the sha256 it must have."""

    url: str
    sha256: str


def zoo_source() -> Source:
    """The real URL and hash, unless the test suite overrides them (URL_VARIABLE, SHA256_VARIABLE)."""
    return Source(os.environ.get(URL_VARIABLE) or ZOO_URL, (os.environ.get(SHA256_VARIABLE) or ZOO_SHA256).lower())


def cache_dir() -> Path:
    """$FCN4_CACHE, else $XDG_CACHE_HOME/fcn4, else ~/.cache/fcn4 (created only by a download)."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "fcn4"


def zoo_path() -> Path:
    """Where the verified zoo checkpoint lives (and where to place it by hand)."""
    return cache_dir() / ZOO_FILE


def is_zoo(path: str | os.PathLike) -> bool:
    """Whether `path` is the cached zoo checkpoint (the one a `zoo` model name resolves to)."""
    return Path(path).resolve() == zoo_path().resolve()


def resolve(name: str | os.PathLike) -> Path:
    """`name` as a path; for exactly `zoo`, the verified zoo checkpoint, downloaded the first time.

    UserError when a file `zoo` exists here too (the user's file is not silently shadowed), or when
    MindSpore, which a checkpoint needs, is not installed (a tagging-only install: export to ONNX first).
    """
    if str(name) != ZOO_NAME:
        return Path(name)
    if Path(ZOO_NAME).exists():
        raise UserError(
            f"'{ZOO_NAME}' names both the file {Path(ZOO_NAME).resolve()} and the model zoo's pretrained FCN-4; "
            f"write ./{ZOO_NAME} for the file, or rename it (or run from another folder) for the zoo model"
        )
    if importlib.util.find_spec("mindspore") is None:
        raise UserError(
            f"'{ZOO_NAME}': the model zoo's FCN-4 is a MindSpore checkpoint and MindSpore is not installed here "
            f"(a tagging-only install); export it once where it is (python export.py --ckpt_file {ZOO_NAME} "
            f"--file_format ONNX --file_name fcn4-zoo) and tag with --model fcn4-zoo.onnx"
        )
    return fetch()


def fetch() -> Path:
    """The zoo checkpoint in the cache folder, verified; downloaded when missing or when the cached file's
    hash is wrong (that file is deleted). No network is needed once it is cached."""
    source, path = zoo_source(), zoo_path()
    if path.is_file():
        got = file_sha256(path)
        if got == source.sha256:
            return path
        log.warning("%s has sha256 %s, expected %s: deleting it and downloading again", path, got, source.sha256)
        path.unlink()
    download(source, path)
    return path


def download(source: Source, path: Path) -> None:
    """Download source.url to path through a temporary file renamed only once the whole file has arrived
    and its sha256 matches: an interrupted or wrong download leaves nothing under `path`."""
    log.info("downloading the model zoo's FCN-4 (once) from %s to %s", source.url, path)
    digest = hashlib.sha256()
    with atomic_path(path) as tmp:
        try:
            received, expected = _stream(source.url, tmp, digest)
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as exc:
            raise UserError(_by_hand(f"cannot download {source.url} ({first_line(exc)})", source, path)) from None
        if expected is not None and received != expected:
            stopped = f"the download of {source.url} stopped after {received:,} of {expected:,} bytes"
            raise UserError(_by_hand(stopped, source, path))
        if digest.hexdigest() != source.sha256:
            raise UserError(
                f"{source.url}: the downloaded file has sha256 {digest.hexdigest()}, expected {source.sha256}; it was "
                f"deleted (a changed or corrupted download); try again, or place the verified file at {path}"
            )
    log.info("verified %s (sha256 %s)", path, source.sha256)


def _stream(url: str, target: Path, digest) -> tuple[int, int | None]:
    """Copy url's body to target, hashing it, with a progress bar; (bytes received, Content-Length or None)."""
    from tqdm import tqdm

    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(target, "wb") as out:
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        received = 0
        with tqdm(total=expected, unit="B", unit_scale=True, desc=ZOO_FILE[:24], disable=None) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    return received, expected


def _by_hand(problem: str, source: Source, path: Path) -> str:
    return f"{problem}; without a network here, download it elsewhere and place it at {path} (sha256 {source.sha256})"
