"""Shared fixtures: MindSpore in graph mode on CPU for in-process tests, and a tiny network shape."""

import pytest

NARROW_CHANNELS = (1, 4, 8, 8, 16)


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
