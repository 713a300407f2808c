"""Where a model's tag names are: the vocabulary that gives each output column its name.

preprocess.py writes `tags.txt` (label index 0 first) beside the MindRecord shards; a
training run records that folder as `mr_path` in its config.yaml; export.py copies the list
to `FILE_NAME.tags.txt` beside the exported model.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from src.errors import UserError
from src.file_names import CONFIG_FILE, TAGS_FILE, TAGS_SIDECAR_SUFFIX
from src.tag_list import read_tag_list


def find_tag_list(model_path: str | Path) -> list[Path]:
    """Where the tag names of a model may be, most specific first (existing or not).

    `<model>.tags.txt` (written by export.py), `tags.txt` beside the model, and for a
    checkpoint the `tags.txt` of the MindRecord folder named by the run's config.yaml.
    """
    model_path = Path(model_path)
    folder = model_path.parent
    candidates = [model_path.with_suffix(TAGS_SIDECAR_SUFFIX), folder / TAGS_FILE]
    config = folder / CONFIG_FILE
    if config.is_file():
        try:
            mr_path = (yaml.safe_load(config.read_text()) or {}).get("mr_path")
        except yaml.YAMLError:
            mr_path = None
        if isinstance(mr_path, str) and mr_path:
            candidates.append(Path(mr_path) / TAGS_FILE)
    return candidates


def resolve_tags(model_path: str | Path, tags_file: str | Path | None, num_classes: int) -> list[str]:
    """The model's tag names from `tags_file` or the first of `find_tag_list` that exists."""
    if tags_file:
        path = Path(tags_file)
    else:
        candidates = find_tag_list(model_path)
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise UserError(f"no tag list found for {model_path} (looked for {', '.join(map(str, candidates))}); "
                            f"pass --tags_file, e.g. the tags.txt that preprocess.py wrote")
    tags = read_tag_list(path)
    if len(tags) != num_classes:
        raise UserError(f"{path} lists {len(tags)} tags but {model_path} predicts {num_classes}")
    return tags
