"""The experiments of ``memlens demo``: small workloads run in child processes (Python and the
C library through ctypes, no compiler), driven one step at a time by ``experiment.Experiment``.

``child.py`` is the child's main loop, ``actions.py`` what it can be told to do, ``libc.py`` the
ctypes bindings; ``helper32.c`` is the one program compiled (for the 32-bit layout lesson).
"""
