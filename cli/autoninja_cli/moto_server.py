"""The embedded emulator's server process: moto server, without its object-listing memory leak.

moto's ``BaseModel`` appends every model instance it creates to its class's ``instances_tracked``
list (for its dashboard and for reset) and never removes one. Its ListObjectVersions deep-copies every
version of every key in the bucket, bodies included, before filtering by prefix; each copy is such an
instance. So every ListObjectVersions call leaked a full copy of the bucket: the reliability tier's R1
at full size (about 100 MB of objects, one listing per dead letter replayed by ``reconcile``) grew the
server past 20 GB until the kernel killed it.

This module gives the two S3 models that listing copies a ``__deepcopy__`` that does exactly what
``copy.deepcopy`` did (the same state, through the same ``__getstate__``/``__setstate__``) except
that the copy is not tracked: it is freed once the listing is answered. Keys stored in buckets are
made as before and stay tracked.

Usage (``autoninja_cli.emulator`` runs it; the arguments are moto server's)::

    python -m autoninja_cli.moto_server -H 127.0.0.1 -p 4566
"""

from __future__ import annotations

import copy
import sys
from typing import Any


def _untracked_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
    clone = object.__new__(type(self))  # not BaseModel.__new__, which would keep the copy forever
    memo[id(self)] = clone
    state = copy.deepcopy(self.__getstate__(), memo)
    if hasattr(clone, "__setstate__"):
        clone.__setstate__(state)
    else:
        clone.__dict__.update(state)
    return clone


def install() -> None:
    """Make moto's S3 key and delete-marker copies untracked (idempotent)."""
    from moto.s3.models import FakeDeleteMarker, FakeKey

    for model in (FakeKey, FakeDeleteMarker):
        setattr(model, "__deepcopy__", _untracked_deepcopy)  # noqa: B010 - patching a third-party class


def main(argv: list[str] | None = None) -> None:
    """Install the fix, then run moto server with ``argv`` (its usual arguments)."""
    install()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
