"""Renderers of memlens layout."""
