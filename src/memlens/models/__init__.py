"""Frozen records of what memlens reads and computes: the one vocabulary shared by procfs
(which produces them), analysis (which computes on them) and render (which shows them).

Modules are imported directly (``from memlens.models.sample import ProcessSample``); this
package imports nothing, so a command pays only for the records it uses.
"""
