"""``evolve``: a dataclass record with some fields changed, as ``dataclasses.replace``
makes it, at half the cost.

The state machine makes a new ``ChargerState`` (or session, or transition) for nearly
every observation: 90,000 copies for a 168,501-line day, the largest single cost of
ingest. ``dataclasses.replace`` walks the class's fields and calls ``__init__`` by
keyword each time; ``evolve`` calls it positionally from code made once per class. The
record is the same: ``__init__`` (and any ``__post_init__``) runs as it would, and an
unknown field name is a ``TypeError``. A class with a field ``__init__`` does not take
(``init=False``, ``InitVar``) is refused; ``dataclasses.replace`` is for those.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["evolve"]

_T = TypeVar("_T")
_COPIERS: dict[type, Callable[..., Any]] = {}


def evolve(obj: _T, /, **changes: Any) -> _T:
    """``dataclasses.replace(obj, **changes)``."""
    cls = type(obj)
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = _copier(cls)
    new: _T = copier(obj, **changes)
    return new


def _copier(cls: type) -> Callable[..., Any]:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"evolve: {cls.__name__} is not a dataclass")
    fields = dataclasses.fields(cls)
    if any(not f.init for f in fields) or len(fields) != len(cls.__dataclass_fields__):
        raise TypeError(f"evolve: {cls.__name__} has fields __init__ does not take")
    names = [f.name for f in fields]
    args = [
        (f"{f.name}=" if f.kw_only is True else "")
        + f"obj.{f.name} if {f.name} is _KEEP else {f.name}"
        for f in fields
    ]
    name = f"evolve_{cls.__name__}"
    source = (
        f"def {name}(obj, /, *, {', '.join(f'{n}=_KEEP' for n in names)}):\n"
        f"    return _cls({', '.join(args)})"
    )
    scope: dict[str, Any] = {"_KEEP": _KEEP, "_cls": cls}
    exec(source, scope)  # noqa: S102 - code made from the class's own field names
    copier: Callable[..., Any] = scope[name]
    return copier


class _Keep:
    """The default of every parameter: keep the field's value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<keep>"


_KEEP = _Keep()
