"""Your own tags on frozen embeddings: a linear head per tag (train_head.py fits it, tag.py applies it).

linear (the head and its .npz file, no pickles), fit (cross-validated fitting), training (embeddings of a
dataset, the fit, the thresholds).

May import: core, evaluation, inference.predict
"""
