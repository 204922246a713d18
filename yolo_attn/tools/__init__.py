"""Maintainer tools: the module benchmark and the module table in docs/MODULES.md."""
