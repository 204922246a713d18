"""Command-line parsers and entry points: the root scripts and `yolo-attn` are a few lines on top of these."""
