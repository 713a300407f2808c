"""Audio and annotations to MindRecord shards (preprocess.py): bounded memory, resumable, broken clips reported.

annotations (the annotation formats' table; formats/ holds the other datasets' readers), splits, windows,
specs (the options' checks), plan (which clip goes where), worker (features per chunk), work_store
(finished chunks on disk), writer (the shards), manifest, report, build (the whole run).

May import: core, features, dataset
"""
