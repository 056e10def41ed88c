"""Renderers of memlens ipc."""
