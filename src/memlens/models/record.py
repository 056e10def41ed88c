"""``NamedTuple`` for memlens's records, without loading ``typing`` at start-up.

``class Stat(NamedTuple): pid: int ...`` is how every record is written. The type checker sees
typing.NamedTuple itself. At run time, importing typing costs more than everything else
memlens loads before its first read of /proc (about 33M instructions, measured with
callgrind), and typing.NamedTuple also compiles every field's annotation string (memlens
modules use postponed annotations). So at run time the same class syntax builds the class
with collections.namedtuple, as typing.NamedTuple does: the fields in the order annotated,
their defaults, and the methods, properties and docstring of the class body; the annotations
are kept as written. Record classes carry no behaviour beyond that, and tests compare both
constructions (tests/unit/test_record.py).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    import collections

    # Names the class body may not set: they are the tuple's own machinery.
    _RESERVED = frozenset(
        {"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
         "_make", "_replace", "_asdict", "_source"}
    )  # fmt: skip
    _KEPT_BY_NAMEDTUPLE = frozenset({"__module__", "__qualname__", "__annotations__"})

    class _RecordMeta(type):
        def __new__(mcs, name, bases, namespace):
            annotations = namespace.get("__annotations__", {})
            fields = list(annotations)
            defaults = []
            for field in fields:
                if field in namespace:
                    defaults.append(namespace[field])
                elif defaults:
                    raise TypeError(
                        f"{name}: field {field} without a default follows a field with one"
                    )
            cls = collections.namedtuple(
                name, fields, defaults=defaults, module=namespace["__module__"]
            )
            cls.__qualname__ = namespace.get("__qualname__", name)
            cls.__annotations__ = dict(annotations)
            for key, value in namespace.items():
                if key in _RESERVED:
                    raise AttributeError(f"{name}: cannot overwrite NamedTuple attribute {key}")
                if key not in annotations and key not in _KEPT_BY_NAMEDTUPLE:
                    setattr(cls, key, value)
            return cls

    _Record = type.__new__(_RecordMeta, "NamedTuple", (), {})

    def NamedTuple(typename, fields=None, /):
        """Only the class syntax is supported: ``class Name(NamedTuple): field: type``."""
        raise TypeError("memlens records use the class syntax of NamedTuple")

    NamedTuple.__mro_entries__ = lambda bases: (_Record,)
