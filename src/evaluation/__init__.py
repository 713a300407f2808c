"""Scoring predictions, in NumPy: the figures eval.py reports and the yes/no decisions tag.py makes.

metrics (macro ROC-AUC, PR-AUC, the reference's histogram AUC), confidence (bootstrap intervals),
thresholds (per-tag thresholds and the precision, recall and F1 they give), decisions (a checkpoint's
thresholds file), saved_scores (eval.py's per-clip scores file).

May import: core
"""
