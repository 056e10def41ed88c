"""Renderers of memlens top."""
