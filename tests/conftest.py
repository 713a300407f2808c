"""Shared fixtures: MindSpore on CPU for in-process tests, in the execution mode the run asks for; every
test under tests/e2e/ is marked `e2e` (it runs entry points, launchers or builds as processes), so that
`bash scripts/run_tests.sh -m "not e2e"` runs the fast unit tests alone.

`pytest --ms-mode pynative` (or FCN4_TEST_MODE=pynative) runs the in-process tests in PyNative mode and
gives the entry points that tests start as processes `--mode pynative` (tests/helpers/processes.py);
the default is graph mode, the entry points' default.
"""

import os
from pathlib import Path

import pytest

from tests.helpers.lite import build_lite_project
from tests.helpers.processes import MODE_VARIABLE

E2E_DIR = Path(__file__).resolve().parent / "e2e"
MODES = ("graph", "pynative")


def pytest_addoption(parser):
    parser.addoption(
        "--ms-mode",
        choices=MODES,
        default=os.environ.get(MODE_VARIABLE, "graph"),
        help=f"MindSpore execution mode of the tests and of the entry points they run (default: ${MODE_VARIABLE} "
        "or graph)",
    )


def pytest_configure(config):
    os.environ[MODE_VARIABLE] = config.getoption("--ms-mode")  # read by run_script for the entry points


@pytest.fixture(scope="session", autouse=True)
def no_lite_tools_and_own_cache(tmp_path_factory):
    """Every test, and every process it starts, sees no MindSpore Lite tools and a cache folder of the session's
    own: the `auto` runtime then means ONNX Runtime whatever this machine has built, and checkpoints compiled
    for it stay out of the user's cache. Tests of the Lite runtime take the `lite_project` fixture."""
    saved = {name: os.environ.get(name) for name in ("FCN4_LITE_APP_DIR", "FCN4_CACHE")}
    os.environ["FCN4_LITE_APP_DIR"] = str(tmp_path_factory.mktemp("no_lite_tools"))
    os.environ["FCN4_CACHE"] = str(tmp_path_factory.mktemp("fcn4_cache"))
    yield saved
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def lite_project(tmp_path_factory, no_lite_tools_and_own_cache):
    """A copy of the 310 app built against the MindSpore Lite wheel (fetched into the user's cache folder, once
    per machine); (project, env) where env points FCN4_LITE_APP_DIR at its tools."""
    return build_lite_project(tmp_path_factory.mktemp("lite_project"), no_lite_tools_and_own_cache["FCN4_CACHE"])


def pytest_report_header(config):
    return f"MindSpore mode: {config.getoption('--ms-mode')}"


def pytest_collection_modifyitems(items):
    for item in items:
        if E2E_DIR in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def mindspore_cpu(pytestconfig):
    """CPU with the oneDNN cap and the run's execution mode (--ms-mode), as the entry points set it up."""
    import mindspore as ms

    from src.core.runtime import setup_runtime

    setup_runtime("CPU", mode=pytestconfig.getoption("--ms-mode"))
    return ms
