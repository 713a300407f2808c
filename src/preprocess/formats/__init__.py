"""Readers of other datasets' annotation layouts (MTG-Jamendo, the MSD last.fm lists), one module per format.

Each module holds one reader returning `common.Annotations`; the table that names them is
`src.preprocess.annotations.ANNOTATION_FORMATS`, beside the MTAT and path_tags readers.
"""
