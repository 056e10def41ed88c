"""The optional compiled parts of memlens (everything else is in pyproject.toml).

Each extension is a C twin of a pure-Python parser or renderer that stays in the package and
stays tested; memlens/native.py picks the compiled one when it was built. ``optional=True``: a
machine without a C compiler or Python's headers (Debian: gcc, python3-dev) still installs a
working memlens, only slower.
"""

from setuptools import Extension, setup

# (module, C source) of each compiled twin.
NATIVE: list[tuple[str, str]] = [
    ("memlens.procfs._pid", "src/memlens/procfs/_pid.c"),
    ("memlens.procfs._smaps", "src/memlens/procfs/_smaps.c"),
    ("memlens.render.maps._pmaprows", "src/memlens/render/maps/_pmaprows.c"),
]

setup(
    ext_modules=[
        Extension(name, [source], optional=True, extra_compile_args=["-O2", "-std=c11"])
        for name, source in NATIVE
    ]
)
