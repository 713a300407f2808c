"""FCN-4 music auto-tagging on MindSpore: the public Python API.

    import fcn4
    model = fcn4.load_model("checkpoints/MusicTagger-best.ckpt")
    print(model.tag("song.mp3").top)

`load_model`, `export`, `Model`, `TagResult`, `log_mel_features` and `evaluate` are those of src/api.py (the
model-zoo layout keeps the code under `src/`); this package gives them an import name of their own.
Importing it imports no MindSpore and sets nothing up. The installed package also holds the entry
points behind the console scripts (fcn4-train, fcn4-tag, ...): `fcn4.scripts` is the repository's
top-level scripts (see pyproject.toml).
"""

from src.api import Model, TagResult, evaluate, export, load_model, log_mel_features

__all__ = ["Model", "TagResult", "evaluate", "export", "load_model", "log_mel_features"]
