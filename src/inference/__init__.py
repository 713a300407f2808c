"""Running a trained model: backends per file format, export, tagging tracks, the Ascend 310 protocol.

backends (one interface over checkpoint, MindIR, ONNX, MindSpore Lite), formats (the export-format table),
exporting, with_embedding (the network with its embedding as a second output), predict (a dataset's
scores), tagging (decode, window, score tracks), tagging_model (what a tagging command opens), tag_report,
embeddings, bin_protocol and host_infer (the 310 .bin protocol), lite_app (the Lite converter and app).
It never imports training.

May import: core, features, dataset, model, evaluation, preprocess, heads.linear
"""
