"""Renderers of ``memlens demo``: text (in the active language) and JSON."""
