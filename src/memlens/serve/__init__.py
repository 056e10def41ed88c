"""memlens serve: the dashboard (FastAPI, the serve extra)."""
