"""What surrounds the network (src/musictagger.py): its files, its loading, its pretrained weights, its front end.

checkpoint (atomic saves, rotation, checked loads, the resume point), loading (rebuild the network a
checkpoint was trained with), pretrained (the model zoo's trained FCN-4 as `zoo`), frontend (the log-mel
features as MindSpore ops, for models that take raw audio).

May import: core, features, musictagger
"""
