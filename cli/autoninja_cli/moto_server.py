"""The embedded emulator's server process: moto server, without its model-copy memory leak.

moto's ``BaseModel`` appends every model instance it creates to its class's ``instances_tracked``
list (for its dashboard and for reset) and never removes one, so an instance that moto makes only to
answer one request lives as long as the server. Some requests make many: ListObjectVersions
deep-copies every version of every key in the bucket, bodies and ACLs included, before filtering by
prefix; a conditional PutItem copies the item it replaces. So every listing leaked a full copy of
the bucket: the reliability tier's R1 at full size (one listing per dead letter ``reconcile`` deletes)
grew the server past 20 GB until the kernel killed it.

This module makes that tracking weak: each class's ``instances_tracked`` still yields every live
instance (what the dashboard and reset use), but no longer keeps one alive. Models stored in a
backend are referenced by it and stay; copies made for one answer are freed with it.

Usage (``autoninja_cli.emulator`` runs it; the arguments are moto server's)::

    python -m autoninja_cli.moto_server -H 127.0.0.1 -p 4566
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

_CONVERSION = threading.Lock()


class WeakInstances:
    """The live instances of one model class, held by weak reference.

    It stands in for moto's ``instances_tracked`` list: ``append``, iteration and ``len`` behave
    the same for instances still alive. An instance that cannot be weakly referenced is held strongly.
    """

    def __init__(self, instances: Iterable[Any] = ()) -> None:
        self._lock = threading.Lock()
        self._live: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._pinned: list[Any] = []
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        with self._lock:
            try:
                self._live[id(instance)] = instance
            except TypeError:  # a class without a __weakref__ slot
                self._pinned.append(instance)

    def _snapshot(self) -> list[Any]:
        with self._lock:
            return [*self._live.values(), *self._pinned]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._snapshot())

    def __len__(self) -> int:
        return len(self._snapshot())


def _tracker(cls: type) -> WeakInstances:
    """``cls``'s own tracker, replacing the list moto's metaclass (or its reset) gave it."""
    tracked = cls.__dict__.get("instances_tracked")
    if isinstance(tracked, WeakInstances):
        return tracked
    with _CONVERSION:
        tracked = cls.__dict__.get("instances_tracked")
        if not isinstance(tracked, WeakInstances):
            tracked = WeakInstances(tracked or [])
            setattr(cls, "instances_tracked", tracked)  # noqa: B010 - a third-party class attribute
        return tracked


def install() -> None:
    """Track every moto model instance weakly from now on (idempotent)."""
    from moto.core.common_models import BaseModel

    def tracked_weakly(cls: Any, *args: Any, **kwargs: Any) -> Any:
        instance = super(BaseModel, cls).__new__(cls)  # what BaseModel.__new__ does, minus the list
        _tracker(cls).append(instance)
        return instance

    BaseModel.__new__ = staticmethod(tracked_weakly)  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    """Install the fix, then run moto server with ``argv`` (its usual arguments)."""
    install()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
