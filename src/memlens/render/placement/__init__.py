"""Renderers of memlens placement: text (``text.py``) and JSON (``json.py``)."""
