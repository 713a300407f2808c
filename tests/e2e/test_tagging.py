"""tag.py on real audio files of several formats, rates and lengths, from a checkpoint, a MindIR and an
ONNX file (the latter with MindSpore made unimportable), plus the windowing, batching and tag lookup."""

import csv
import io
import json
import shutil

import numpy as np
import pytest

from src import demo_data, features
from src.core.errors import UserError
from src.core.tag_list import check_tag_count, resolve_tags, tag_list_candidates, tags_or_numbered
from src.inference.backends import OnnxBackend, predict_all
from src.inference.exporting import export_model
from src.inference.tagging import collect_audio, tag_tracks, window_starts
from tests.helpers.models import NARROW_CHANNELS, random_network, save_checkpoint, write_tags, write_tone
from tests.helpers.processes import assert_one_line_error, run_script

HOP = 10.0
CLIP = features.CLIP_SAMPLES
SR = features.SAMPLE_RATE


@pytest.fixture(scope="module")
def setup(tmp_path_factory, mindspore_cpu):
    """A music folder (mp3, wav, flac, ogg, one broken file, one non-audio file) and three equal models."""
    root = tmp_path_factory.mktemp("tagging")
    music = root / "music"
    demo_data.generate_corpus(root / "mtat", num_clips=2, seed=5)
    mp3 = sorted((root / "mtat").rglob("*.mp3"))[0]
    music.mkdir()
    shutil.copy(mp3, music / "clip.mp3")
    write_tone(music / "long" / "stereo_44k.wav", 70.0, 44100, channels=2, seed=1)
    write_tone(music / "short_8k.flac", 5.0, 8000, seed=2)
    write_tone(music / "mid_22k.ogg", 40.0, 22050, seed=3)
    (music / "broken.mp3").write_bytes(np.random.default_rng(0).bytes(4000))
    (music / "notes.txt").write_text("not audio")

    network = random_network(NARROW_CHANNELS, seed=9)
    ckpt = save_checkpoint(network, root / "ckpt")
    tags = write_tags(root / "mr" / "tags.txt", 50)
    (root / "ckpt" / "config.yaml").write_text(f"mr_path: {root / 'mr'}\n")  # as train.py saves it
    models = {"ckpt": ckpt}
    for name, file_format in (("mindir", "MINDIR"), ("onnx", "ONNX")):
        models[name] = export_model(network, str(root / "export" / "fcn4"), file_format, 3).path
    shutil.copy(root / "mr" / "tags.txt", root / "export" / "fcn4.tags.txt")  # what export.py writes
    return {"root": root, "music": music, "network": network, "models": models, "tags": tags}


def _tag(model, *args, env=None):
    return run_script("tag.py", "--model", str(model), *args, "--no_progress", env=env)


@pytest.fixture(scope="module")
def reports(setup):
    """tag.py --format json on the whole folder with each model, hop 10 s."""
    out = {}
    for name, model in setup["models"].items():
        path = setup["root"] / f"{name}.json"
        result = _tag(
            model,
            str(setup["music"]),
            "--format",
            "json",
            "--output",
            str(path),
            "--hop_seconds",
            str(HOP),
            "--batch_size",
            "2",
            "--device_target",
            "CPU",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "skipped" in result.stderr and "broken.mp3" in result.stderr
        out[name] = json.loads(path.read_text())
    return out


def test_every_format_and_length_is_tagged_and_broken_files_are_skipped(setup, reports):
    report = reports["ckpt"]
    tracks = {t["path"].split("music/")[1]: t for t in report["tracks"]}
    assert sorted(tracks) == ["clip.mp3", "long/stereo_44k.wav", "mid_22k.ogg", "short_8k.flac"]
    assert [s["path"].split("music/")[1] for s in report["skipped"]] == ["broken.mp3"]
    assert report["skipped"][0]["reason"].startswith("undecodable")
    assert tracks["long/stereo_44k.wav"]["window_starts_s"] == [0.0, 10.0, 20.0, 30.0, 40.0, 40.88]
    assert tracks["mid_22k.ogg"]["window_starts_s"] == [0.0, 10.0, 10.88]
    assert tracks["short_8k.flac"]["window_starts_s"] == [0.0]
    assert tracks["short_8k.flac"]["duration_s"] == pytest.approx(5.0, abs=1e-3)
    for track in tracks.values():
        taggram = np.array(track["taggram"])
        assert taggram.shape == (len(track["window_starts_s"]), 50)
        np.testing.assert_allclose(track["mean"], taggram.mean(axis=0), atol=2e-6)
        np.testing.assert_allclose(track["max"], taggram.max(axis=0), atol=2e-6)
        assert [t["probability"] for t in track["top"]] == sorted(track["mean"], reverse=True)[:5]
        assert [t["tag"] for t in track["top"]] == [
            setup["tags"][track["mean"].index(t["probability"])] for t in track["top"]
        ]


def test_checkpoint_mindir_and_onnx_give_the_same_tags(reports):
    ckpt = reports["ckpt"]["tracks"]
    for name in ("mindir", "onnx"):
        other = reports[name]["tracks"]
        assert [t["path"] for t in other] == [t["path"] for t in ckpt]
        for a, b in zip(ckpt, other, strict=True):
            np.testing.assert_allclose(a["taggram"], b["taggram"], atol=1e-4, err_msg=f"{name} {a['path']}")
            assert [t["tag"] for t in a["top"][:1]] == [t["tag"] for t in b["top"][:1]]


def test_a_short_clip_is_scored_on_exactly_the_training_features(setup, reports):
    import mindspore as ms

    track = next(t for t in reports["ckpt"]["tracks"] if t["path"].endswith("clip.mp3"))
    expected = setup["network"](ms.Tensor(features.extract(setup["music"] / "clip.mp3")[None])).asnumpy()[0]
    np.testing.assert_allclose(track["taggram"][0], expected, atol=1e-5)


def test_onnx_tagging_never_imports_mindspore_and_writes_csv(setup, tmp_path):
    blocker = tmp_path / "blocker" / "mindspore"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('mindspore must not be imported on the ONNX path')\n")
    env = {"PYTHONPATH": str(blocker.parent)}

    result = _tag(setup["models"]["onnx"], str(setup["music"]), "--format", "csv", "--top_k", "3", env=env)

    assert result.returncode == 0, result.stderr[-3000:]
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["path"].split("music/")[1] for r in rows] == [
        "broken.mp3",
        "clip.mp3",
        "long/stereo_44k.wav",
        "mid_22k.ogg",
        "short_8k.flac",
    ]
    assert list(rows[0])[:5] == ["path", "duration_s", "windows", "error", "top_tags"]
    assert list(rows[0])[5:] == setup["tags"]
    assert rows[0]["error"].startswith("undecodable") and rows[0]["top_tags"] == ""
    long = rows[2]
    assert long["windows"] == "3" and float(long["duration_s"]) == pytest.approx(70.0, abs=1e-3)
    assert len(long["top_tags"].split("; ")) == 3

    mindir = _tag(setup["models"]["mindir"], str(setup["music"] / "clip.mp3"), env=env)
    assert_one_line_error(mindir, "MindIR models need MindSpore", "ONNX")


def test_text_output_and_plots(setup, tmp_path):
    result = _tag(
        setup["models"]["onnx"],
        str(setup["music"] / "long"),
        str(setup["music"] / "short_8k.flac"),
        "--top_k",
        "4",
        "--aggregate",
        "max",
        "--plot_dir",
        str(tmp_path / "plots"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 2 * (1 + 4)  # per file: a header line and its top 4 tags
    assert lines[0].endswith("stereo_44k.wav  (70.0 s, 3 window(s), max over windows)")
    scores = [float(line.split()[-1]) for line in lines[1:5]]
    assert scores == sorted(scores, reverse=True)
    pngs = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert pngs == ["short_8k_taggram.png", "short_8k_tags.png", "stereo_44k_taggram.png", "stereo_44k_tags.png"]
    assert all((tmp_path / "plots" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_nothing_decodable_and_no_tag_names_are_one_line_errors(setup, tmp_path):
    result = _tag(setup["models"]["onnx"], str(setup["music"] / "broken.mp3"))
    assert_one_line_error(result, "none of the 1 file(s) could be decoded")
    lone = tmp_path / "lone.onnx"
    shutil.copy(setup["models"]["onnx"], lone)
    assert_one_line_error(_tag(lone, str(setup["music"] / "clip.mp3")), "no tag list found", "--tags_file")
    result = _tag(lone, str(setup["music"] / "clip.mp3"), "--tags_file", str(tmp_path / "absent.txt"))
    assert_one_line_error(result, "absent.txt", "does not exist")
    assert_one_line_error(_tag(lone, str(tmp_path / "song.aiff")), "song.aiff", "does not exist")


# ---------------------------------------------------------------- in-process units


def test_window_starts_cover_the_whole_track():
    assert window_starts(100, SR).tolist() == [0]
    assert window_starts(CLIP, SR).tolist() == [0]
    assert window_starts(CLIP + 1, 10 * SR).tolist() == [0, 1]
    assert window_starts(3 * CLIP, CLIP).tolist() == [0, CLIP, 2 * CLIP]
    assert window_starts(3 * CLIP + 5, CLIP).tolist() == [0, CLIP, 2 * CLIP, 2 * CLIP + 5]
    assert window_starts(5 * CLIP, 4 * CLIP).tolist() == [0, 4 * CLIP]


def test_windows_share_batches_across_tracks_without_changing_scores(setup):
    backend = OnnxBackend(setup["models"]["onnx"])
    files = collect_audio([setup["music"]])
    tracks = list(tag_tracks(backend, files, HOP, batch_size=3, workers=2, progress=False))
    assert [t.path for t in tracks] == files
    for track in tracks:
        if track.error:
            continue
        windows = [
            features.log_mel(features.fix_length(features.load_audio(track.path)[s : s + CLIP]))
            for s in (track.starts_s * SR).round().astype(int)
        ]
        np.testing.assert_allclose(track.scores, predict_all(backend, np.stack(windows), 3), atol=1e-6)


def test_collect_audio_finds_files_recursively_and_refuses_the_rest(setup, tmp_path):
    found = collect_audio([setup["music"], setup["music"] / "clip.mp3"])
    assert [p.relative_to(setup["music"]).as_posix() for p in found] == [
        "broken.mp3",
        "clip.mp3",
        "long/stereo_44k.wav",
        "mid_22k.ogg",
        "short_8k.flac",
    ]
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no audio file"):
        collect_audio([tmp_path / "empty"])
    with pytest.raises(UserError, match="gone.flac does not exist"):
        collect_audio([tmp_path / "gone.flac"])
    assert collect_audio([setup["music"] / "notes.txt"]) == [setup["music"] / "notes.txt"]  # tried, then skipped


def test_tag_names_are_found_beside_the_model_or_through_the_run_config(setup, tmp_path):
    root = setup["root"]
    assert resolve_tags(setup["models"]["onnx"], 50) == setup["tags"]  # fcn4.tags.txt
    assert tag_list_candidates(setup["models"]["ckpt"])[-1] == root / "mr" / "tags.txt"  # config.yaml's mr_path
    assert resolve_tags(setup["models"]["ckpt"], 50) == setup["tags"]
    with pytest.raises(UserError, match="lists 50 tags but .* predicts 10"):
        resolve_tags(setup["models"]["onnx"], 10)
    write_tags(tmp_path / "tags.txt", 10)
    assert len(resolve_tags(tmp_path / "m.onnx", 10)) == 10  # plain tags.txt beside the model


def test_tag_lookup_for_export_eval_and_postprocess(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("mr_path: [not, a, path]\n")  # unreadable mr_path: skipped
    assert tag_list_candidates(tmp_path / "run" / "m.ckpt", tmp_path / "mr") == [
        tmp_path / "run" / "m.tags.txt",
        tmp_path / "run" / "tags.txt",
        tmp_path / "mr" / "tags.txt",
    ]
    assert tags_or_numbered(tmp_path / "mr" / "tags.txt", 3) == ["tag0", "tag1", "tag2"]  # missing
    tags = write_tags(tmp_path / "mr" / "tags.txt", 3)
    assert tags_or_numbered(tmp_path / "mr" / "tags.txt", 3) == tags
    assert tags_or_numbered(tmp_path / "mr" / "tags.txt", 2) == ["tag0", "tag1"]  # another width
    with pytest.raises(UserError, match="tags.txt lists 3 tags but m.ckpt predicts 4"):
        check_tag_count(tags, tmp_path / "mr" / "tags.txt", "m.ckpt", 4)
