"""The `zoo` model name: download once from a local server, sha256 check, cache folder, offline use, and
one-line errors that say where to place the file by hand (src.model.pretrained)."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from src.core.errors import UserError
from src.model import pretrained
from tests.helpers.zoo_server import ZooServer

BODY = np.random.default_rng(0).bytes(3 * 2**20 + 123)  # three and a bit download chunks


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(pretrained.CACHE_VARIABLE, str(folder))
    monkeypatch.setenv(pretrained.URL_VARIABLE, "http://127.0.0.1:9/nothing-listens-here.ckpt")
    return folder


@pytest.fixture
def serve(cache, monkeypatch):
    """Start a ZooServer for `body` and point src.model.pretrained at it; servers still running are stopped after."""
    servers = []

    def start(body=BODY, cut_after=None, sha256=None):
        server = ZooServer(body, cut_after)
        servers.append(server)
        for name, value in server.env(cache, sha256).items():
            monkeypatch.setenv(name, value)
        return server

    yield start
    for server in servers:
        if server.thread.is_alive():
            server.stop()


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_zoo_is_downloaded_once_verified_and_then_used_offline(serve, cache):
    server = serve()
    path = pretrained.resolve("zoo")
    assert path == cache / pretrained.ZOO_FILE and path.read_bytes() == BODY
    assert server.hits == 1
    server.stop()  # no network from here on
    assert pretrained.resolve("zoo") == path
    assert _files(cache) == [pretrained.ZOO_FILE]


def test_a_wrong_hash_after_download_deletes_the_file_and_is_one_line(serve, cache):
    serve(sha256="0" * 64)
    with pytest.raises(UserError) as error:
        pretrained.fetch()
    message = str(error.value)
    assert "\n" not in message and "0" * 64 in message and hashlib.sha256(BODY).hexdigest() in message
    assert "deleted" in message
    assert _files(cache) == []


def test_an_interrupted_download_leaves_no_file_under_any_name(serve, cache):
    serve(cut_after=len(BODY) // 2)
    with pytest.raises(UserError, match=f"stopped after {len(BODY) // 2:,} of {len(BODY):,} bytes") as error:
        pretrained.fetch()
    assert str(cache / pretrained.ZOO_FILE) in str(error.value)  # where to place it by hand
    assert _files(cache) == []


def test_without_a_network_the_error_says_where_to_place_the_file_by_hand(cache):
    with pytest.raises(UserError) as error:
        pretrained.fetch()
    message = str(error.value)
    assert "\n" not in message and "cannot download" in message
    assert f"place it at {cache / pretrained.ZOO_FILE}" in message and pretrained.ZOO_SHA256 in message


def test_a_file_placed_by_hand_is_used_without_a_network(cache, monkeypatch):
    monkeypatch.setenv(pretrained.SHA256_VARIABLE, hashlib.sha256(BODY).hexdigest())
    cache.mkdir()
    (cache / pretrained.ZOO_FILE).write_bytes(BODY)
    assert pretrained.fetch().read_bytes() == BODY


def test_a_cached_file_with_a_wrong_hash_is_deleted_and_fetched_again(serve, cache):
    server = serve()
    cache.mkdir()
    (cache / pretrained.ZOO_FILE).write_bytes(b"an older or damaged file")
    assert pretrained.fetch().read_bytes() == BODY
    assert server.hits == 1


def test_a_cached_file_with_a_wrong_hash_offline_is_deleted_and_one_line(cache, monkeypatch):
    monkeypatch.setenv(pretrained.SHA256_VARIABLE, hashlib.sha256(BODY).hexdigest())
    cache.mkdir()
    (cache / pretrained.ZOO_FILE).write_bytes(BODY[:1000])
    with pytest.raises(UserError, match="place it at"):
        pretrained.fetch()
    assert _files(cache) == []


def test_the_cache_folder_follows_fcn4_cache_then_xdg_cache_home_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv(pretrained.CACHE_VARIABLE, str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert pretrained.zoo_path() == tmp_path / "mine" / pretrained.ZOO_FILE
    monkeypatch.delenv(pretrained.CACHE_VARIABLE)
    assert pretrained.cache_dir() == tmp_path / "xdg" / "fcn4"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert pretrained.cache_dir() == tmp_path / "home" / ".cache" / "fcn4"


def test_the_real_source_is_the_hub_file_unless_the_tests_override_it(monkeypatch):
    monkeypatch.delenv(pretrained.URL_VARIABLE, raising=False)
    monkeypatch.delenv(pretrained.SHA256_VARIABLE, raising=False)
    source = pretrained.zoo_source()
    assert source.url.startswith("https://download.mindspore.cn/") and source.url.endswith(pretrained.ZOO_FILE)
    assert len(source.sha256) == 64 and int(source.sha256, 16) >= 0


def test_other_names_are_paths_and_a_file_named_zoo_is_never_shadowed(cache, tmp_path, monkeypatch):
    assert pretrained.resolve("checkpoints/MusicTagger-best.ckpt") == Path("checkpoints/MusicTagger-best.ckpt")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "zoo").write_bytes(b"the user's own file")
    with pytest.raises(UserError, match="names both the file .*zoo and the model zoo's pretrained FCN-4"):
        pretrained.resolve("zoo")
    assert pretrained.resolve("./zoo") == Path("zoo")  # the file, written as a path
    assert (tmp_path / "zoo").read_bytes() == b"the user's own file"


def test_is_zoo_names_only_the_cached_checkpoint(cache, tmp_path):
    assert pretrained.is_zoo(cache / pretrained.ZOO_FILE)
    assert not pretrained.is_zoo(tmp_path / pretrained.ZOO_FILE)


def test_the_cached_zoo_checkpoint_is_named_by_the_reference_tags_and_no_other_is(cache, tmp_path, mindspore_cpu):
    from src.model import checkpoint
    from src.model.loading import load_checkpoint_network
    from tests.helpers.models import NARROW_CHANNELS, random_network

    network = random_network(NARROW_CHANNELS, num_classes=len(pretrained.ZOO_TAGS), seed=1)
    shape_only = {"model": network.params.to_dict()}  # the zoo's records no tag names
    zoo = checkpoint.save(network, pretrained.zoo_path(), run_info=shape_only)
    elsewhere = checkpoint.save(network, tmp_path / "copy.ckpt", run_info=shape_only)
    assert load_checkpoint_network(zoo)[1] == list(pretrained.ZOO_TAGS)
    assert load_checkpoint_network(elsewhere)[1] is None
    narrower = random_network(NARROW_CHANNELS, num_classes=7, seed=1)
    checkpoint.save(narrower, pretrained.zoo_path(), run_info={"model": narrower.params.to_dict()})
    with pytest.raises(UserError, match="predicts 7 tags, the model zoo's FCN-4 50"):
        load_checkpoint_network(zoo)


def test_the_python_api_loads_zoo_by_name(serve, tmp_path, mindspore_cpu):
    from src import api
    from src.model import checkpoint
    from tests.helpers.models import NARROW_CHANNELS, random_network

    network = random_network(NARROW_CHANNELS, num_classes=len(pretrained.ZOO_TAGS), seed=2)
    served = checkpoint.save(network, tmp_path / "served.ckpt", run_info={"model": network.params.to_dict()})
    serve(body=served.read_bytes())
    on_mindspore = api.load_model("zoo", device="CPU", backend="mindspore")
    assert on_mindspore.kind == "checkpoint" and on_mindspore.tags == list(pretrained.ZOO_TAGS)
    with api.load_model("zoo", device="CPU") as fastest:  # compiled once; the zoo's tag names travel with it
        assert fastest.kind == "ONNX" and fastest.tags == list(pretrained.ZOO_TAGS)
