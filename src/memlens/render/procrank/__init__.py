"""Renderers of memlens procrank: text in memlens's or procrank's format, and JSON."""
