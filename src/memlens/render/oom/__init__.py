"""Renderers of memlens oom: text (``text.py``) and JSON (``json.py``)."""
