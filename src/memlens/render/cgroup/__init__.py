"""Renderers of memlens cgroup: text (``text.py``) and JSON (``json.py``)."""
