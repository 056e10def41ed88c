"""Use cases: one module per command. Each takes a ProcRoot and options, drives the reads and the
analysis, and returns one typed report; the command line and the Python API call the same
functions."""
