"""Renderers of memlens shared."""
