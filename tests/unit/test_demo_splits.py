"""The demo's train/val/test lists (src/demo_data.py --split_lists): whole folders per split, every clip
once, in the form preprocess.py --split file reads."""

from src import demo_data
from src.preprocess.splits import file_split


def test_split_lists_cover_every_clip_once_by_folder(tmp_path):
    written = demo_data.write_split_lists(tmp_path, num_clips=256, seed=0)
    assert [p.name for p in written] == ["train_list.txt", "val_list.txt", "test_list.txt"]
    paths = demo_data.clip_paths(256, 0)
    splits = file_split(paths, {p.name.split("_")[0]: str(p) for p in written})
    assert {name: int((splits == name).sum()) for name in ("train", "val", "test", "")} == {
        "train": 160,
        "val": 48,
        "test": 48,
        "": 0,
    }
    for path, split in zip(paths, splits, strict=True):
        assert demo_data.DEMO_SPLIT[path[0]] == split, path
