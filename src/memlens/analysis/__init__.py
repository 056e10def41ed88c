"""Pure functions over models: no I/O, no printing."""
