"""src.core.cli.run_command: bad input and a full disk become one `error: ...` line and exit code 2."""

import errno
import os
from pathlib import Path

import pytest

from src.core.cli import EXIT_USER_ERROR, run_command
from src.core.errors import UserError
from src.core.fileio import atomic_write_json


def _raise(exc: BaseException):
    def command() -> int:
        raise exc

    return command


def _last_line(capsys) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_user_error_is_one_line(capsys):
    assert run_command(_raise(UserError("lr=-1: must be > 0"))) == EXIT_USER_ERROR
    assert _last_line(capsys) == "error: lr=-1: must be > 0"


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS])
def test_a_full_disk_while_writing_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys, code):
    def write_text(self, text, *args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(Path, "write_text", write_text)
    target = tmp_path / "eval_val.json"

    assert run_command(lambda: atomic_write_json(target, {"a": 1})) == EXIT_USER_ERROR

    line = _last_line(capsys)
    assert line == f"error: cannot write {target}: {os.strerror(code)}; free space or choose another folder, then rerun"
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_without_a_file_name_is_still_one_line(capsys):
    assert run_command(_raise(OSError(errno.ENOSPC, "No space left on device"))) == EXIT_USER_ERROR
    assert _last_line(capsys).startswith("error: cannot write: No space left on device")


def test_other_os_errors_are_not_hidden():
    with pytest.raises(PermissionError):
        run_command(_raise(PermissionError(errno.EACCES, "Permission denied")))
