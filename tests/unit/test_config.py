"""Config: YAML defaults, --config_path overrides, command-line overrides, ranges, one-line rejections, the README
table."""

from pathlib import Path

import pytest
import yaml

from src.core.errors import UserError
from src.model_utils.config import DEFAULT_CONFIG, get_config, load_schema, save_config
from src.model_utils.config_table import BEGIN, END, config_table, replace_table, write_table
from tests.helpers.processes import assert_one_line_error, run_script


def test_defaults_match_the_reference_recipe():
    config = get_config([])
    assert config.lr == 0.0005
    assert config.batch_size == 32
    assert config.epoch_size == 10
    assert config.loss_scale == 1024.0
    assert config.prefix == "MusicTagger"
    assert config.channels == [1, 128, 384, 768, 2048]
    assert config.pools == [[2, 4], [4, 5], [3, 8]]
    assert config.device_target == "auto"


def _is_number(value) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_is_number(item) for item in value)
    return isinstance(value, int | float) and not isinstance(value, bool)


def test_every_key_has_help_and_choices_are_valid_defaults():
    schema = load_schema(DEFAULT_CONFIG)
    assert set(schema.values) == set(schema.helps)
    for key, allowed in schema.choices.items():
        assert schema.values[key] in allowed


def test_every_numeric_key_has_a_range_that_admits_its_default():
    schema = load_schema(DEFAULT_CONFIG)
    numeric = {key for key, value in schema.values.items() if _is_number(value)}
    assert numeric == set(schema.ranges)
    for key, allowed in schema.ranges.items():
        assert allowed.admits(schema.values[key]), key


@pytest.mark.parametrize(
    ("argv", "key", "expected"),
    [
        (["--lr", "0.01"], "lr", 0.01),
        (["--lr=1"], "lr", 1.0),
        (["--batch_size", "8"], "batch_size", 8),
        (["--resume", "True"], "resume", True),
        (["--resume", "false"], "resume", False),
        (["--mixed_precision", "1"], "mixed_precision", True),
        (["--channels", "[1,8,16,32,64]"], "channels", [1, 8, 16, 32, 64]),
        (["--channels", "1,8,16,32,64"], "channels", [1, 8, 16, 32, 64]),
        (["--pools", "[[2,4],[4,5],[3,8]]"], "pools", [[2, 4], [4, 5], [3, 8]]),
        (["--device_target", "CPU"], "device_target", "CPU"),
        (["--prefix", "123"], "prefix", "123"),
    ],
)
def test_command_line_overrides(argv, key, expected):
    assert getattr(get_config(argv), key) == expected


def test_float_keys_become_floats():
    assert isinstance(get_config(["--loss_scale", "512"]).loss_scale, float)


@pytest.mark.parametrize(("text", "expected"), [("1e-3", 0.001), ("1E-4", 0.0001), ("5e-4", 0.0005), ("+2.5e+1", 25.0)])
def test_scientific_notation_is_a_number_on_the_command_line_and_in_a_file(tmp_path, text, expected):
    assert get_config(["--lr", text]).lr == expected
    other = tmp_path / "sci.yaml"
    other.write_text(f"lr: {text}\nloss_scale: {text}\n")
    config = get_config(["--config_path", str(other)])
    assert (config.lr, config.loss_scale) == (expected, expected)
    assert isinstance(config.lr, float)


@pytest.mark.parametrize("text", [".inf", "-.inf", ".nan"])
def test_infinite_or_nan_floats_are_rejected(text):
    with pytest.raises(UserError, match="expected a finite number"):
        get_config([f"--lr={text}"])


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--batch_size", "0"], "batch_size=0 is out of range: expected >= 1"),
        (["--eval_batch_size", "0"], "eval_batch_size=0 is out of range: expected >= 1"),
        (["--export_batch_size", "-1"], "export_batch_size=-1 is out of range: expected >= 1"),
        (["--save_step", "0"], "save_step=0 is out of range: expected >= 1"),
        (["--epoch_size", "0"], "epoch_size=0 is out of range: expected >= 1"),
        (["--lr", "0"], "lr=0.0 is out of range: expected > 0"),
        (["--lr=-1e-3"], "lr=-0.001 is out of range: expected > 0"),
        (["--loss_scale", "0"], "loss_scale=0.0 is out of range: expected > 0"),
        (["--seed", "-1"], "seed=-1 is out of range: expected >= 0 and <= 4294967295"),
        (["--seed", "4294967296"], "seed=4294967296 is out of range: expected >= 0 and <= 4294967295"),
        (["--keep_checkpoint_max", "-1"], "keep_checkpoint_max=-1 is out of range: expected >= 0"),
        (["--num_parallel_workers", "0"], "num_parallel_workers=0 is out of range: expected >= 1"),
        (["--num_classes", "0"], "num_classes=0 is out of range: expected >= 1"),
        (["--num_consumer", "0"], "num_consumer=0 is out of range: expected >= 1 and <= 1000"),
        (["--num_consumer", "1001"], "num_consumer=1001 is out of range: expected >= 1 and <= 1000"),
        (["--train_ratio", "0"], "train_ratio=0.0 is out of range: expected > 0 and < 1"),
        (["--train_ratio", "1"], "train_ratio=1.0 is out of range: expected > 0 and < 1"),
        (["--split_seed", "-1"], "split_seed=-1 is out of range: expected >= 0"),
        (["--preprocess_workers", "-1"], "preprocess_workers=-1 is out of range: expected >= 0"),
        (["--preprocess_num_shards", "0"], "preprocess_num_shards=0 is out of range: expected >= 1"),
        (["--preprocess_shard_id", "-2"], "preprocess_shard_id=-2 is out of range: expected >= -1"),
        (["--sync_timeout", "0"], "sync_timeout=0 is out of range: expected >= 1"),
        (["--store_max_attempts", "0"], "store_max_attempts=0 is out of range: expected >= 1"),
        (["--device_id", "-1"], "device_id=-1 is out of range: expected >= 0"),
        (["--channels", "[1,8,0,8,16]"], "channels=[1, 8, 0, 8, 16] is out of range: expected each item >= 1"),
        (["--pools", "[[2,4],[4,0],[3,8]]"], "pools=[[2, 4], [4, 0], [3, 8]] is out of range: expected each item >= 1"),
    ],
)
def test_numbers_out_of_range_are_one_line_errors_naming_the_range(argv, expected):
    with pytest.raises(UserError) as info:
        get_config(argv)
    assert str(info.value) == f"command line: {expected}"


@pytest.mark.parametrize(
    ("key", "edge"),
    [
        ("keep_checkpoint_max", 0),
        ("preprocess_workers", 0),
        ("preprocess_shard_id", -1),
        ("seed", 4294967295),
        ("seed", 0),
        ("num_consumer", 1000),
        ("batch_size", 1),
    ],
)
def test_numbers_on_the_edge_of_their_range_are_accepted(key, edge):
    assert getattr(get_config([f"--{key}", str(edge)]), key) == edge


def test_a_range_error_names_the_file_that_set_the_value_and_the_command_line_wins(tmp_path):
    other = tmp_path / "zero.yaml"
    other.write_text("batch_size: 0\n")
    with pytest.raises(UserError) as info:
        get_config(["--config_path", str(other)])
    assert str(info.value) == f"{other}: batch_size=0 is out of range: expected >= 1"
    assert get_config(["--config_path", str(other), "--batch_size", "2"]).batch_size == 2


def test_help_shows_each_range(capsys):
    with pytest.raises(SystemExit):
        get_config(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "Training batch size per device" in out and "Range: >= 1. Default: 32." in out
    assert "Range: each item >= 1. Default: [[2, 4], [4, 5], [3, 8]]." in out


def test_a_malformed_range_in_the_yaml_is_named(tmp_path):
    schema = tmp_path / "schema.yaml"
    schema.write_text("size: 1\n---\n---\n---\nsize: at least 1\n")
    with pytest.raises(UserError, match=r"ranges: size='at least 1' is not a range: expected bounds like '>= 1'"):
        load_schema(schema)


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["--lrr", "0.1"], ["--lrr", "did you mean lr?"]),
        (["--bach_size", "3"], ["did you mean batch_size?"]),
        (["--batch_size", "eight"], ["batch_size='eight'", "integer"]),
        (["--batch_size", "2.5"], ["batch_size=2.5", "integer"]),
        (["--resume", "maybe"], ["resume='maybe'", "boolean"]),
        (["--device_target", "TPU"], ["device_target='TPU'", "'Ascend'", "'CPU'"]),
        (["--channels", "[1,a]"], ["channels", "list"]),
        (["--file_format", "PB"], ["file_format='PB'", "MINDIR"]),
    ],
)
def test_bad_values_are_one_line_errors_naming_key_and_expectation(argv, needles):
    with pytest.raises(UserError) as info:
        get_config(argv)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message


def test_config_path_overrides_defaults_and_cli_wins(tmp_path):
    other = tmp_path / "demo.yaml"
    other.write_text("lr: 0.002\nbatch_size: 4\n")
    config = get_config(["--config_path", str(other), "--batch_size", "6"])
    assert config.lr == 0.002
    assert config.batch_size == 6
    assert config.epoch_size == 10


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("lrate: 0.1\n", "unknown key 'lrate' (did you mean lr?)"),
        ("epoch_size: ten\n", "epoch_size='ten'"),
        ("split: folders\n", "split='folders'"),
        ("lr: [\n", "not valid YAML"),
    ],
)
def test_bad_config_file_is_rejected_with_the_file_named(tmp_path, text, needle):
    other = tmp_path / "bad.yaml"
    other.write_text(text)
    with pytest.raises(UserError) as info:
        get_config(["--config_path", str(other)])
    assert needle in str(info.value)
    assert str(other) in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        get_config(["--config_path", str(tmp_path / "nope.yaml")])


def _config_file_error(path) -> str:
    with pytest.raises(UserError) as info:
        get_config(["--config_path", str(path)])
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_directory_or_a_binary_file_as_config_path_is_a_one_line_error(tmp_path):
    assert "is a directory: expected a YAML file" in _config_file_error(tmp_path)
    binary = tmp_path / "weights.ckpt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x01")
    assert "is not a text file: expected YAML" in _config_file_error(binary)


@pytest.mark.parametrize(
    ("text", "document"),
    [("- lr\n- 0.1\n", 1), ("just words\n", 1), ("lr: 0.1\n---\n- help\n", 2), ("lr: 0.1\n---\n---\n---\n[1, 2]\n", 4)],
)
def test_yaml_documents_that_are_not_mappings_are_named(tmp_path, text, document):
    other = tmp_path / "list.yaml"
    other.write_text(text)
    assert f"YAML document {document} is not key: value mappings" in _config_file_error(other)


@pytest.mark.parametrize(
    ("error", "needle"),
    [
        (PermissionError(13, "Permission denied"), "permission denied"),
        (OSError(5, "Input/output error"), "Input/output"),
    ],
)
def test_an_unreadable_config_file_is_a_one_line_error(tmp_path, monkeypatch, error, needle):
    other = tmp_path / "locked.yaml"
    other.write_text("lr: 0.1\n")

    read_text = Path.read_text

    def refuse(self, *args, **kwargs):
        if self == other:
            raise error
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)
    assert f"cannot be read: {needle}" in _config_file_error(other)


def test_saved_config_round_trips(tmp_path):
    config = get_config(["--lr", "0.003"])
    path = save_config(config.to_dict(), tmp_path)
    saved = yaml.safe_load(path.read_text())
    assert saved["lr"] == 0.003
    assert saved == {key: value for key, value in config.to_dict().items() if key != "config_path"}


def test_a_saved_config_reproduces_the_run_through_config_path(tmp_path):
    argv = ["--lr", "1e-4", "--batch_size", "4", "--channels", "[1,4,8,8,16]", "--split", "mtat", "--resume", "True"]
    config = get_config(argv)
    path = save_config(config.to_dict(), tmp_path)
    again = get_config(["--config_path", str(path)])
    assert {**again.to_dict(), "config_path": ""} == {**config.to_dict(), "config_path": ""}
    assert again.to_dict() != get_config([]).to_dict()


def test_a_config_saved_with_its_config_path_by_older_versions_is_accepted(tmp_path):
    old = tmp_path / "config.yaml"
    old.write_text(yaml.safe_dump({**get_config([]).to_dict(), "batch_size": 5}))
    assert "config_path" in old.read_text()
    assert get_config(["--config_path", str(old)]).batch_size == 5


def test_help_lists_keys_with_their_help(capsys):
    with pytest.raises(SystemExit) as info:
        get_config(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--keep_checkpoint_max" in out
    assert "Adam learning rate" in out


def test_config_table_lists_defaults_and_choices_and_writes_only_between_the_markers(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        'flag: False\nname: ""\nsizes: [1, 2]\nmode: "a"\n---\nflag: "On|off."\nmode: "How."\n---\nmode: ["a", "b"]\n'
    )
    table = config_table(config).splitlines()
    assert table[2:] == [
        "| `flag` | `false` | On\\|off. |",
        "| `name` | `''` |  |",
        "| `sizes` | `[1, 2]` |  |",
        "| `mode` | `a` | How. Choices: a, b. |",
    ]
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{BEGIN}\nold\n{END}\nrest\n")
    assert write_table(readme, config) is True
    assert readme.read_text() == f"intro\n{BEGIN}\n" + "\n".join(table) + f"\n{END}\nrest\n"
    assert write_table(readme, config) is False
    with pytest.raises(UserError, match="expected the markers"):
        replace_table("no markers here", "table")


def test_config_table_shows_ranges_with_each_item_for_list_keys(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text('size: 2\nsizes: [1, 2]\n---\nsize: "How many."\n---\n---\nsize: ">= 1"\nsizes: "> 0, <= 8"\n')
    assert config_table(config).splitlines()[2:] == [
        "| `size` | `2` | How many. Range: >= 1. |",
        "| `sizes` | `[1, 2]` |  Range: each item > 0 and <= 8. |",
    ]


def test_pick_builds_a_dataclass_from_the_keys_of_its_field_names():
    from src.musictagger import ModelParams

    params = get_config(["--channels", "[1,4,8,8,16]", "--num_classes", "7"]).pick(ModelParams)
    assert params.channels == (1, 4, 8, 8, 16) and params.num_classes == 7
    assert params.n_mels == ModelParams().n_mels  # not a config key: the dataclass default
    assert get_config([]).pick(ModelParams, num_classes=3).num_classes == 3  # given values win


@pytest.mark.e2e
def test_an_entry_point_refuses_an_out_of_range_number_before_any_work(tmp_path):
    run = tmp_path / "run"
    result = run_script("train.py", "--checkpoint_path", str(run), "--mr_path", str(tmp_path), "--batch_size", "0")
    assert_one_line_error(result, "command line: batch_size=0 is out of range: expected >= 1")
    assert not run.exists()
