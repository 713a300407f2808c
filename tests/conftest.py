"""Shared fixtures: MindSpore in graph mode on CPU for in-process tests; every test under tests/e2e/
is marked `e2e` (it runs entry points, launchers or builds as processes), so that
`bash scripts/run_tests.sh -m "not e2e"` runs the fast unit tests alone."""

from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(items):
    for item in items:
        if E2E_DIR in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def mindspore_cpu():
    """Graph mode on CPU with the oneDNN cap, as the entry points set it up."""
    import mindspore as ms

    from src.runtime import apply_onednn_fix

    apply_onednn_fix()
    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(1)
    return ms
