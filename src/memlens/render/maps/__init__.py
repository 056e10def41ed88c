"""Renderers of memlens maps."""
