"""src.core.fileio: atomic writes leave no temp file and name the real file when the disk is full; the
writability check finds an unusable output folder before the work, and creates nothing."""

import errno
import os
import tempfile
from pathlib import Path

import pytest

from src.core.errors import UserError
from src.core.fileio import atomic_write_json, atomic_write_text, check_writable_dir, check_writable_file


def _full_disk(monkeypatch, after_bytes: int = 3):
    """Make Path.write_text write `after_bytes` characters, then fail as a full disk does."""

    def write_text(self, text, *args, **kwargs):
        with open(self, "w") as handle:
            handle.write(text[:after_bytes])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", write_text)


def test_a_full_disk_leaves_the_old_file_and_no_temp_file_and_names_the_file(tmp_path, monkeypatch):
    target = tmp_path / "eval_val.json"
    target.write_text("old\n")
    _full_disk(monkeypatch)
    with pytest.raises(OSError) as raised:
        atomic_write_json(target, {"roc_auc": 0.9})
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(target)  # not the hidden temp name
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval_val.json"]


def test_atomic_write_replaces_the_file_and_leaves_no_temp_file(tmp_path):
    atomic_write_text(tmp_path / "sub" / "a.txt", "new\n")
    assert (tmp_path / "sub" / "a.txt").read_text() == "new\n"
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["a.txt"]


def test_writable_folders_pass_and_nothing_is_created(tmp_path):
    assert check_writable_dir(tmp_path, "x") == tmp_path
    assert check_writable_dir(tmp_path / "new" / "deeper", "x") == tmp_path / "new" / "deeper"
    assert check_writable_file(tmp_path / "new" / "result.json", "x") == tmp_path / "new" / "result.json"
    assert list(tmp_path.iterdir()) == []  # neither the folders nor a probe file are left


def test_a_file_where_a_folder_is_expected_is_named(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match=r"result_file .*notes.txt/sub/r.json: .*notes.txt exists and is not a folder"):
        check_writable_file(tmp_path / "notes.txt" / "sub" / "r.json", "result_file")
    with pytest.raises(UserError, match=r"--plot_dir .*notes.txt: .*notes.txt exists and is not a folder"):
        check_writable_dir(tmp_path / "notes.txt", "--plot_dir")
    with pytest.raises(UserError, match=r"--output .* is a folder; expected a file name"):
        check_writable_file(tmp_path, "--output")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_folder_that_refuses_files_is_found_even_for_root(tmp_path, monkeypatch):
    """os.access says yes to root on a read-only mount: the check must try to create a file."""

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(UserError, match=r"file_name .*out: cannot write in .* \(Read-only file system\)"):
        check_writable_dir(tmp_path / "out", "file_name")


def test_a_real_unwritable_folder_is_found():
    """/sys takes no new files, for root too."""
    with pytest.raises(UserError, match=r"result_file /sys/fcn4/r.json: cannot write in /sys"):
        check_writable_file("/sys/fcn4/r.json", "result_file")
