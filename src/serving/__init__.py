"""The tagging service behind serve.py: an HTTP API and a web page over one loaded model.

app (routes, error replies, request log), service (a request's way through the limits, the decoder and
the batcher), batching (concurrent requests' windows in one model call), uploads (the request body onto
disk, bounded), audio (an upload decoded into model windows, bounded), limits (what a request may cost),
replies (the JSON bodies), static/ (the page at /: plain JavaScript and canvas, nothing fetched from
elsewhere). MindSpore is imported only for a checkpoint or MindIR model (src.inference.formats).

May import: core, features, evaluation, inference
"""
