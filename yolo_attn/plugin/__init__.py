"""The ultralytics seam: every place yolo_attn reads or changes ultralytics internals (the parse_model hook,
the weights-only allow list, the CLI and trainer patches)."""
