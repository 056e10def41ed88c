"""The procfs layer: reading files below a root (live /proc, a directory, a snapshot) and
parsing their content. Parsers take bytes, never paths."""
