"""FCN-4 music auto-tagging on MindSpore: the model-zoo package, grouped by pipeline stage.

Top level: the model-zoo modules users and scripts rely on (musictagger: the network and its MODELS table;
dataset: the MindRecord schema; loss), features (the one definition of a model input), demo_data (the
built-in corpus), entry (what every entry point does around its work) and api (the Python API). Each stage
is a package: preprocess, training, evaluation, inference, heads, serving, cluster; model holds what
surrounds the network (checkpoints, loading, the pretrained model, the log-mel front end); core is the
plumbing every stage shares; model_utils is the model zoo's config package.

Every package and top-level module ends its docstring with a "May import:" line naming the parts of src
it may use (a package, a top-level module, or one module of a package); tests/unit/test_architecture.py
holds every import to it. docs/architecture.md draws the stages and the files that pass between them.
"""
