"""Object stores behind the Cloud keys (data_url, checkpoint_url, train_url): check, copy, mirror.

Inside ModelArts images (enable_modelarts=True) the platform's own `moxing` copier is used when
it can be imported. Everywhere else `s3://BUCKET/PREFIX` and `obs://BUCKET/PREFIX` go through
boto3 to any S3-compatible store (Huawei OBS, MinIO, AWS). The endpoint and credentials come from
the environment only, never from the config: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / S3_ENDPOINT,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN optional); none of them is logged.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from src.core.errors import UserError, first_line
from src.core.fileio import atomic_path

log = logging.getLogger("fcn4")

SCHEMES = ("s3", "obs")
ENDPOINT_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "S3_ENDPOINT")
PROBE_NAME = ".fcn4-write-probe"


@dataclass(frozen=True)
class Location:
    """An object-store folder: s3://bucket/prefix (prefix without slashes at either end)."""

    bucket: str
    prefix: str

    def key(self, relative: str = "") -> str:
        return "/".join(part for part in (self.prefix, relative) if part)


def join_url(url: str, relative: str) -> str:
    return f"{url.rstrip('/')}/{relative}"


def parse_url(url: str, key: str) -> Location:
    """Location of `url` (the value of config key `key`); UserError for anything but s3:// or obs://."""
    scheme, sep, rest = url.partition("://")
    bucket, _, prefix = rest.partition("/")
    if not sep or scheme not in SCHEMES or not bucket:
        raise UserError(
            f"{key}={url!r}: expected s3://BUCKET/PREFIX or obs://BUCKET/PREFIX (other URLs need "
            f"enable_modelarts=True inside a ModelArts image)"
        )
    return Location(bucket, prefix.strip("/"))


class S3Store:
    """boto3 client for one endpoint; `max_attempts` tries per request (connection drops included)."""

    def __init__(self, max_attempts: int) -> None:
        import boto3
        from botocore.config import Config

        key_id, secret = os.getenv("AWS_ACCESS_KEY_ID"), os.getenv("AWS_SECRET_ACCESS_KEY")
        if not key_id or not secret:
            raise UserError(
                "s3:// and obs:// URLs need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the "
                "environment (credentials are never read from the config)"
            )
        self.endpoint = next((os.environ[v] for v in ENDPOINT_VARS if os.getenv(v)), None)
        self.max_attempts = max_attempts
        config = Config(
            retries={"max_attempts": max_attempts, "mode": "standard"}, connect_timeout=10, read_timeout=120
        )
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=os.getenv("AWS_SESSION_TOKEN") or None,
            config=config,
        )

    def check_source(self, url: str, key: str) -> None:
        """The bucket exists, the credentials may list it, and the prefix holds at least one object."""
        where = parse_url(url, key)
        listing = self._call(
            url, key, self.client.list_objects_v2, Bucket=where.bucket, Prefix=_folder(where.key()), MaxKeys=1
        )
        if not listing.get("KeyCount"):
            raise UserError(f"{key}={url}: no objects under this prefix at {self._where()}")

    def check_target(self, url: str, key: str) -> None:
        """The bucket exists and the credentials may write (and delete) a probe object under the prefix."""
        where = parse_url(url, key)
        probe = where.key(f"{PROBE_NAME}-{uuid.uuid4().hex}")
        self._call(url, key, self.client.put_object, Bucket=where.bucket, Key=probe, Body=b"")
        self._call(url, key, self.client.delete_object, Bucket=where.bucket, Key=probe)

    def download_tree(self, url: str, local: Path, key: str) -> int:
        """Copy every object under url into local (same relative paths); returns the file count."""
        where = parse_url(url, key)
        count = 0
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=where.bucket, Prefix=_folder(where.key()))
        for page in self._call_iter(url, key, pages):
            for item in page.get("Contents", []):
                relative = _relative(item["Key"], where.key(), url)
                if relative is None:
                    continue
                target = local / relative
                with atomic_path(target) as tmp:
                    self._call(url, key, self.client.download_file, where.bucket, item["Key"], str(tmp))
                count += 1
        return count

    def upload_file(self, path: Path, url: str, key: str) -> None:
        where = parse_url(url, key)
        self._call(url, key, self.client.upload_file, str(path), where.bucket, where.key())

    def delete(self, url: str, key: str) -> None:
        where = parse_url(url, key)
        self._call(url, key, self.client.delete_object, Bucket=where.bucket, Key=where.key())

    def _where(self) -> str:
        return self.endpoint or "the default AWS endpoint"

    def _call(self, url: str, key: str, method, *args, **kwargs):
        """A boto3 call whose failure (after the client's retries) becomes a one-line UserError."""
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(*args, **kwargs)
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise UserError(f"{key}={url}: {self._explain(exc)}") from None

    def _call_iter(self, url: str, key: str, pages):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield from pages
        except (ClientError, BotoCoreError) as exc:
            raise UserError(f"{key}={url}: {self._explain(exc)}") from None

    def _explain(self, exc: Exception) -> str:
        """One line for a failed request: the S3 error code when the server answered, else the
        transport error after the client's attempts (upload_file wraps server errors in its own)."""
        cause = exc.__context__ if type(exc).__name__ == "S3UploadFailedError" and exc.__context__ else exc
        response = getattr(cause, "response", None)
        if not response:
            text = first_line(cause)
            return f"{text} (after {self.max_attempts} attempts to {self._where()})"
        error = response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            return f"bucket does not exist at {self._where()}"
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return (
                f"access denied by {self._where()} ({code}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY "
                f"and the bucket's permissions"
            )
        return f"{code or 'error'} from {self._where()}: {error.get('Message', cause)}"


class MoxingStore:
    """ModelArts' built-in copier (obs:// and s3:// inside ModelArts images)."""

    def __init__(self, moxing) -> None:
        self.file = moxing.file

    def check_source(self, url: str, key: str) -> None:
        if not self.file.exists(url):
            raise UserError(f"{key}={url}: does not exist (moxing)")

    def check_target(self, url: str, key: str) -> None:
        """moxing creates the folder on the first copy; nothing to probe."""

    def download_tree(self, url: str, local: Path, key: str) -> int:
        self.file.copy_parallel(url, str(local))
        return sum(1 for p in local.rglob("*") if p.is_file())

    def upload_file(self, path: Path, url: str, key: str) -> None:
        self.file.copy(str(path), url)

    def delete(self, url: str, key: str) -> None:
        self.file.remove(url, recursive=False)


def open_store(enable_modelarts: bool, max_attempts: int) -> S3Store | MoxingStore:
    """moxing inside ModelArts (enable_modelarts and importable), else boto3 for s3:// and obs://.

    Only enable_modelarts looks for moxing: an unrelated public package has the same name.
    """
    if enable_modelarts:
        try:
            import moxing
        except ImportError:
            log.info("enable_modelarts: no moxing module here (not a ModelArts image); using boto3")
        else:
            return MoxingStore(moxing)
    return S3Store(max_attempts)


class Mirror:
    """Keeps train_url a copy of output_path, file by file, as files are written.

    A failed upload (after the client's retries) is logged and tried again on the next push;
    `push_tree(strict=True)` at the end of a run raises instead.
    """

    def __init__(self, store, local_root: str | Path, url: str) -> None:
        self.store = store
        self.root = Path(local_root).resolve()
        self.url = url
        self.sent: dict[Path, tuple[int, int]] = {}
        self.pending: set[Path] = set()

    def push(self, *paths: Path) -> None:
        """Upload `paths` in order (after any postponed ones): a checkpoint before the state naming it."""
        for path in dict.fromkeys([*self.pending, *(Path(p).resolve() for p in paths)]):
            try:
                self._send(path)
            except UserError as exc:
                self.pending.add(path)
                log.warning("upload postponed: %s", exc)
            else:
                self.pending.discard(path)

    def drop(self, *paths: Path) -> None:
        for path in paths:
            path = Path(path).resolve()
            self.sent.pop(path, None)
            self.pending.discard(path)
            try:
                self.store.delete(self._url_of(path), "train_url")
            except UserError as exc:
                log.warning("could not remove a rotated checkpoint from train_url: %s", exc)

    def push_tree(self) -> int:
        """Upload every file under output_path that changed since it was last sent; errors raise."""
        files = sorted(p.resolve() for p in self.root.rglob("*") if p.is_file() and not p.name.startswith("."))
        sent = [p for p in files if self._send(p)]
        self.pending.clear()
        return len(sent)

    def _send(self, path: Path) -> bool:
        if not path.is_file():
            return False
        stat = path.stat()
        version = (stat.st_size, stat.st_mtime_ns)
        if self.sent.get(path) == version:
            return False
        self.store.upload_file(path, self._url_of(path), "train_url")
        self.sent[path] = version
        return True

    def _url_of(self, path: Path) -> str:
        return join_url(self.url, path.relative_to(self.root).as_posix())


def _folder(prefix: str) -> str:
    return f"{prefix}/" if prefix else ""


def _relative(object_key: str, prefix: str, url: str) -> str | None:
    """Path of an object below prefix, or None for folder markers; refuses keys escaping the folder."""
    relative = object_key[len(_folder(prefix)) :]
    if not relative or relative.endswith("/"):
        return None
    parts = PurePosixPath(relative).parts
    if ".." in parts or relative.startswith("/"):
        raise UserError(f"{url}: object '{object_key}' would be written outside the local folder")
    return relative
