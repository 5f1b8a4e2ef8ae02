"""The bytes an object graph holds, for memory tests that must not depend on timing or load.

RSS and tracemalloc totals move with whatever else the process did (the emulator runs in the
same process, the interpreter keeps freed arenas), so a memory test sums ``sys.getsizeof``
over what is reachable from the structure under test instead: deterministic for the same
data. The walk stops at ``shared`` objects (a client and its connection pool, the metrics
registry, the event loop) and at code, types and modules, which belong to no one; it never
enters running machinery (tasks, futures, coroutines, frames), whose references lead
everywhere and which hold nothing at rest.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import types
from collections.abc import Iterable

__all__ = ["held_bytes"]

_NOT_DATA = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.CodeType,
    types.FrameType,
    types.CoroutineType,
    types.GeneratorType,
    asyncio.Future,
    asyncio.AbstractEventLoop,
)


def held_bytes(root: object, shared: Iterable[object] = ()) -> int:
    """Bytes of every object reachable from ``root``, each counted once, short of ``shared``."""
    seen = {id(o) for o in shared}
    todo = [root]
    total = 0
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, _NOT_DATA):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        todo.extend(gc.get_referents(obj))
    return total
