"""Config: YAML defaults, --config_path overrides, command-line overrides, one-line rejections, the README table."""

import pytest
import yaml

from src.errors import UserError
from src.model_utils.config import DEFAULT_CONFIG, get_config, load_yaml, save_config
from src.model_utils.config_table import BEGIN, END, config_table, replace_table, write_table


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


def test_every_key_has_help_and_choices_are_valid_defaults():
    values, helps, choices = load_yaml(DEFAULT_CONFIG)
    assert set(values) == set(helps)
    for key, allowed in choices.items():
        assert values[key] in allowed


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


def test_saved_config_round_trips(tmp_path):
    config = get_config(["--lr", "0.003"])
    path = save_config(config.to_dict(), tmp_path)
    saved = yaml.safe_load(path.read_text())
    assert saved["lr"] == 0.003
    assert saved == config.to_dict()


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


def test_pick_builds_a_dataclass_from_the_keys_of_its_field_names():
    from src.musictagger import ModelParams

    params = get_config(["--channels", "[1,4,8,8,16]", "--num_classes", "7"]).pick(ModelParams)
    assert params.channels == (1, 4, 8, 8, 16) and params.num_classes == 7
    assert params.n_mels == ModelParams().n_mels  # not a config key: the dataclass default
    assert get_config([]).pick(ModelParams, num_classes=3).num_classes == 3  # given values win
