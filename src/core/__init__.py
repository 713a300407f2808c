"""The plumbing every stage shares: one error type and the entry-point contract, files on disk.

errors (UserError: one line, exit code 2), cli (log format, error lines, exit codes), fileio (atomic writes,
writability checks, file hashes), file_names (the on-disk contract: every name a dataset folder or a run
folder holds), tag_list (tags.txt, the reference tag order, finding a model's tag names), run_lock (one
writer per output folder), runtime (MindSpore's device, mode, seeds and the oneDNN cap, set once by main).

May import: model_utils.device_adapter
"""
