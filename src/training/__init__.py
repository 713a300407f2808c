"""The training recipe behind train.py: the loop, one optimizer step, and the run folder it writes.

trainer (epochs, validation, best checkpoint, resume), train_step (the reference step: Adam, BCE, fixed
loss scale; gradient accumulation), recipe_options (lr schedule, early stopping), finetune (start from
another run, also for new tags), run_folder (what train.py checks before it writes), interrupts (Ctrl-C
between steps), memory (peak RSS per epoch), selection (which split picked a checkpoint).

May import: core, features, dataset, loss, musictagger, model, evaluation, cluster, model_utils.config,
inference.predict, preprocess.manifest
"""
