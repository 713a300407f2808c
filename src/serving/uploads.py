"""An upload, streamed from the request body onto disk and bounded in size while it streams.

Two ways to send a file: multipart/form-data with the file in a part named `file` (what the page and
`curl -F file=@song.mp3` send), or the raw bytes with an audio/* or application/octet-stream
Content-Type (`curl --data-binary @song.mp3 -H 'Content-Type: audio/mpeg'`). The bytes go to one file
named UPLOAD_NAME in the folder the caller gives (a fresh temporary folder per request): a name from
the request is never used as a path; libsndfile tells the format from the content. A body over the
limit is refused with 413 before it is read when its Content-Length says so, else as soon as it passes
the limit (the rest, up to DRAIN_FACTOR times the limit in all, is read and dropped, so that a client
that sends its whole body before reading, as a browser does, gets the answer rather than a reset).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from src.core.errors import first_line
from src.serving.limits import ServiceError

UPLOAD_NAME = "upload"
FILE_FIELD = "file"
RAW_TYPES = ("application/octet-stream", "audio/")  # a raw body's accepted Content-Types (audio/* by prefix)
MULTIPART = "multipart/form-data"
NAME_CHARS = 200  # of a client's file name kept for display (never used as a path)
DRAIN_FACTOR = 2  # a body declared larger than this many times the limit is refused before it is read


@dataclass(frozen=True)
class Upload:
    """The uploaded file at `path`, its size in bytes and the client's name for it ("" for a raw body)."""

    path: Path
    size: int
    filename: str


async def receive_upload(request: Request, folder: Path, max_bytes: int) -> Upload:
    """The request body's file, written to folder/UPLOAD_NAME; ServiceError 400 (empty, malformed, no file
    part), 413 (over max_bytes) or 415 (a Content-Type that is neither multipart nor audio)."""
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    kind = kind.decode("latin-1").lower()
    _check_declared_length(request.headers.get("content-length"), max_bytes)
    path = folder / UPLOAD_NAME
    with open(path, "wb") as out:
        sink = _multipart_sink(out, params) if kind == MULTIPART else _raw_sink(out, kind)
        await _copy(request.stream(), sink, max_bytes)
        sink.finish()
    if sink.size == 0:
        raise ServiceError(400, "empty upload: the request carries no audio bytes")
    return Upload(path, sink.size, sink.filename)


def _check_declared_length(header: str | None, max_bytes: int) -> None:
    if header is None:
        return
    if not header.strip().isdigit():
        raise ServiceError(400, f"Content-Length {header!r}: expected a number of bytes")
    if int(header) > DRAIN_FACTOR * max_bytes:
        raise ServiceError(413, _too_large(max_bytes, f"({int(header) / 2**20:.1f} MB) "))


def _too_large(max_bytes: int, size: str = "") -> str:
    return f"the upload {size}is over the {max_bytes / 2**20:g} MB this server takes (--max_upload_mb)"


async def _copy(stream: AsyncIterator[bytes], sink: _RawSink, max_bytes: int) -> None:
    received = 0
    try:
        async for chunk in stream:
            received += len(chunk)
            if received > max_bytes:
                async for dropped in stream:  # read on (bounded) so that the client sees the reply, not a reset
                    received += len(dropped)
                    if received > DRAIN_FACTOR * max_bytes:
                        break
                raise ServiceError(413, _too_large(max_bytes))
            sink.write(chunk)
    except ClientDisconnect:
        raise ServiceError(400, "the client closed the connection before the upload ended") from None


class _RawSink:
    """The body is the file."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.size = 0
        self.filename = ""

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.size += len(data)

    def finish(self) -> None:
        """Nothing to check: any byte sequence is a complete raw body."""


def _raw_sink(out: BinaryIO, kind: str) -> _RawSink:
    if kind and not any(kind == t or (t.endswith("/") and kind.startswith(t)) for t in RAW_TYPES):
        raise ServiceError(
            415,
            f"Content-Type {kind}: expected {MULTIPART} with the file in a part named {FILE_FIELD!r}, or the raw "
            "file as audio/* or application/octet-stream",
        )
    return _RawSink(out)


def _multipart_sink(out: BinaryIO, params: dict[bytes, bytes]) -> _MultipartSink:
    boundary = params.get(b"boundary")
    if not boundary:
        raise ServiceError(400, f"Content-Type {MULTIPART} without a boundary")
    return _MultipartSink(out, boundary)


class _MultipartSink(_RawSink):
    """Writes the first part named FILE_FIELD, or else the first part with a file name, as it streams in."""

    def __init__(self, out: BinaryIO, boundary: bytes) -> None:
        super().__init__(out)
        self.found = self.complete = self.writing = False
        self.header: list[bytes] = [b"", b""]
        self.headers: dict[bytes, bytes] = {}
        callbacks = {
            "on_part_begin": self.headers.clear,
            "on_header_field": lambda data, start, end: self._add(0, data[start:end]),
            "on_header_value": lambda data, start, end: self._add(1, data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }
        self.parser = MultipartParser(boundary, callbacks)

    def write(self, data: bytes) -> None:
        try:
            self.parser.write(data)
        except MultipartParseError as exc:
            raise ServiceError(400, f"malformed multipart body: {first_line(exc)}") from None

    def finish(self) -> None:
        if not self.found:
            raise ServiceError(400, f"multipart body has no file part (send the file as the field {FILE_FIELD!r})")
        if not self.complete:
            raise ServiceError(400, "multipart body ends inside the file part (truncated upload)")

    def _add(self, which: int, data: bytes) -> None:
        self.header[which] += data

    def _header_end(self) -> None:
        self.headers[self.header[0].strip().lower()] = self.header[1].strip()
        self.header = [b"", b""]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        if self.found or not (options.get(b"name") == FILE_FIELD.encode() or b"filename" in options):
            return
        self.found = self.writing = True
        name = options.get(b"filename", b"").decode("utf-8", "replace")
        self.filename = "".join(c for c in name if c.isprintable())[:NAME_CHARS]

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.writing:
            super().write(data[start:end])

    def _part_end(self) -> None:
        if self.writing:
            self.writing, self.complete = False, True
