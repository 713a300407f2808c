"""serve.py's arguments: every bound flag out of range, a bad --upload_dir, a taken port and an unknown model
give one line `error: ...` and exit code 2 before anything is loaded."""

import socket

import pytest

import serve
from src.core.errors import UserError


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--port", "70000"),
        ("--max_upload_mb", "0"),
        ("--max_seconds", "-5"),
        ("--max_windows", "0"),
        ("--batch_size", "0"),
        ("--max_wait_ms", "-1"),
        ("--max_queue", "0"),
        ("--workers", "0"),
        ("--top_k", "0"),
        ("--hop_seconds", "0"),
        ("--shutdown_timeout", "-1"),
    ],
)
def test_a_flag_out_of_its_range_is_one_line_naming_it_and_the_range(capsys, flag, value):
    assert serve.main(["--model", "never_loaded.onnx", flag, value]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith(f"error: {flag} ") and "expected a value from" in line, line


def test_an_upload_dir_that_is_a_file_and_an_unknown_model_type_are_refused(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    assert serve.main(["--model", "m.onnx", "--upload_dir", str(tmp_path / "file")]) == 2
    assert "--upload_dir" in capsys.readouterr().err
    assert serve.main(["--model", str(tmp_path / "model.pt"), "--port", "0"]) == 2
    assert "unknown model type" in capsys.readouterr().err


def test_a_taken_port_is_one_line_naming_host_and_port():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(UserError, match=f"--host 127.0.0.1 --port {port}: cannot listen there"):
            serve.listen("127.0.0.1", port)
    with serve.listen("127.0.0.1", 0) as free:
        assert free.getsockname()[1] > 0
