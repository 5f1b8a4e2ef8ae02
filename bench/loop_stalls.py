"""What holds the event loop: ``reconciler ...`` run in process with its loop instrumented.

``/healthz`` is answered by the controller's event loop, so it answers late whenever one turn
of the loop (the callbacks run between two looks at the sockets) takes long: one long callback,
or many short ones that became ready together. This wrapper runs any ``reconciler`` command
(``python bench/loop_stalls.py --out FILE -- run --config ...``) with every turn timed and, on a
sampling thread, the loop thread's stack taken every millisecond while a callback has run for
more than ``--long`` ms. At exit it writes to FILE:

- the turns: count, p50/p99/max of their busy time and of the loop thread's CPU time in them
  (which other load on the machine barely moves), and how the turns over 50 ms split into
  time in long callbacks and time in many short ones;
- the garbage collections by generation: count, total and longest (a full collection walks
  every object of the heap, holding the GIL);
- the long callbacks by what they ran (the task's coroutine), with count, total and max;
- the ten longest callbacks, each with the stacks sampled while it ran;
- the stacks sampled inside long callbacks, as collapsed stacks (``a;b;c COUNT``), most
  frequent first: what to make shorter.

``bench/domain.py --loop-profile FILE`` runs its controller under this wrapper.
"""

from __future__ import annotations

import argparse
import asyncio
import asyncio.base_events
import asyncio.events
import atexit
import gc
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

_now = time.perf_counter


class LoopRecorder:
    """Times each turn of the loop and each callback; samples the stacks of long callbacks."""

    def __init__(self, long_ms: float) -> None:
        self.long = long_ms / 1000
        self.turns: list[tuple[float, float, int]] = []  # (busy s, in long callbacks s, handles)
        self.long_by_what: dict[str, list[float]] = defaultdict(list)
        self.stacks: Counter[str] = Counter()
        self.longest: list[tuple[float, str, Counter[str]]] = []  # the 10 longest, their stacks
        self._current: Counter[str] = Counter()  # stacks sampled in the running callback
        self._handle_started: float | None = None
        self._turn_long = 0.0
        self._turn_handles = 0
        self.long_cpu = 0.0  # the loop thread's CPU time in long callbacks
        self.turn_cpu: list[float] = []  # the loop thread's CPU time in each turn
        self.collections: dict[int, list[float]] = defaultdict(list)  # generation -> seconds
        self._gc_started: float | None = None
        self._loop_thread = threading.get_ident()

    def install(self) -> None:
        recorder = self
        handle_run = asyncio.events.Handle._run
        run_once = asyncio.base_events.BaseEventLoop._run_once  # type: ignore[attr-defined]

        def timed_run(handle: asyncio.events.Handle) -> None:
            recorder._handle_started = started = _now()
            cpu = time.thread_time()
            try:
                handle_run(handle)
            finally:
                took = _now() - started
                recorder._handle_started = None
                recorder._turn_handles += 1
                if took >= recorder.long:
                    recorder._turn_long += took
                    recorder.long_by_what[_describe(handle)].append(took)
                    recorder.long_cpu += time.thread_time() - cpu
                    recorder._keep_longest(took, _describe(handle))
                recorder._current = Counter()

        def timed_run_once(loop: Any) -> None:
            selector = loop._selector
            if not getattr(selector, "_timed", False):
                select = selector.select

                def timed_select(timeout: float | None = None) -> Any:
                    began = _now()
                    try:
                        return select(timeout)
                    finally:
                        loop._select_seconds += _now() - began

                selector.select, selector._timed = timed_select, True
            loop._select_seconds = 0.0
            recorder._turn_long, recorder._turn_handles = 0.0, 0
            began, cpu = _now(), time.thread_time()
            run_once(loop)
            busy = _now() - began - loop._select_seconds
            recorder.turns.append((busy, recorder._turn_long, recorder._turn_handles))
            recorder.turn_cpu.append(time.thread_time() - cpu)

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign,assignment]
        asyncio.base_events.BaseEventLoop._run_once = timed_run_once  # type: ignore[attr-defined]
        threading.Thread(target=self._sample, name="loop-stall-sampler", daemon=True).start()
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        """Time each collection: a full one walks every object of the heap, holding the GIL."""
        if phase == "start":
            self._gc_started = _now()
        elif self._gc_started is not None:
            self.collections[info["generation"]].append(_now() - self._gc_started)
            self._gc_started = None

    def _sample(self) -> None:
        while True:
            time.sleep(0.001)
            started = self._handle_started
            if started is None or _now() - started < self.long:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            if frame is not None:
                stack = _collapse(frame)
                self.stacks[stack] += 1
                self._current[stack] += 1

    def _keep_longest(self, took: float, what: str) -> None:
        self.longest.append((took, what, self._current))
        self.longest.sort(key=lambda entry: -entry[0])
        del self.longest[10:]

    def report(self) -> str:
        lines = []
        busy = sorted(t[0] * 1000 for t in self.turns) or [0.0]
        cpu = sorted(c * 1000 for c in self.turn_cpu) or [0.0]
        lines.append(
            f"turns' CPU time (the loop's own work, barely moved by other load): p50"
            f" {_pct(cpu, 0.5):.2f} ms, p99 {_pct(cpu, 0.99):.1f} ms, p99.9 {_pct(cpu, 0.999):.1f}"
            f" ms, max {cpu[-1]:.1f} ms; {sum(cpu) / 1000:.1f} s in all"
        )
        for generation, times in sorted(self.collections.items()):
            ms = sorted(t * 1000 for t in times)
            lines.append(
                f"garbage collections of generation {generation}: {len(ms)}, {sum(ms) / 1000:.2f} s"
                f" in all, p50 {_pct(ms, 0.5):.1f} ms, max {ms[-1]:.1f} ms"
            )
        slow = [t for t in self.turns if t[0] >= 0.05]
        lines.append(
            f"turns {len(busy)}: busy p50 {_pct(busy, 0.5):.2f} ms, p99 {_pct(busy, 0.99):.1f}"
            f" ms, p99.9 {_pct(busy, 0.999):.1f} ms, max {busy[-1]:.1f} ms"
        )
        lines.append(
            f"turns over 50 ms: {len(slow)}, {sum(t[0] for t in slow):.2f} s busy, of which"
            f" {sum(t[1] for t in slow):.2f} s in callbacks over {self.long * 1000:g} ms;"
            f" handles per such turn: max {max((t[2] for t in slow), default=0)}"
        )
        in_long = sum(sum(took) for took in self.long_by_what.values())
        lines.append(
            f"long callbacks: {in_long:.2f} s wall, {self.long_cpu:.2f} s CPU of the loop's"
            " thread (the rest: waiting for the GIL or a core)"
        )
        lines.append(f"\nlong callbacks (>= {self.long * 1000:g} ms) by what ran:")
        ranked = sorted(self.long_by_what.items(), key=lambda kv: -sum(kv[1]))
        for what, times in ranked[:40]:
            lines.append(
                f"  {len(times):6d} x, {sum(times):7.2f} s, max {max(times) * 1000:7.1f} ms  {what}"
            )
        lines.append("\nthe longest callbacks, and where their samples fell (innermost 6 frames):")
        for seconds, what, stacks in self.longest:
            lines.append(f"  {seconds * 1000:7.1f} ms  {what}")
            for stack, count in stacks.most_common(4):
                tail = " < ".join(reversed(stack.split(";")[-6:]))
                lines.append(f"      {count:4d}  {tail}")
        lines.append("\nstacks sampled in long callbacks (1 ms each):")
        for stack, count in self.stacks.most_common(200):
            lines.append(f"{stack} {count}")
        return "\n".join(lines) + "\n"


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))]


def _describe(handle: asyncio.events.Handle) -> str:
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        return f"task {getattr(coro, '__qualname__', repr(coro))}"
    return repr(callback)[:160]


def _collapse(frame: FrameType | None) -> str:
    names = []
    while frame is not None:
        code = frame.f_code
        names.append(f"{code.co_qualname} ({Path(code.co_filename).name}:{frame.f_lineno})")
        frame = frame.f_back
    return ";".join(reversed(names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--long", type=float, default=10.0, help="a long callback, in ms")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    recorder = LoopRecorder(args.long)
    recorder.install()
    atexit.register(lambda: args.out.write_text(recorder.report()))
    from reconciler.cli import main as reconciler

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    reconciler(command, prog_name="reconciler")


if __name__ == "__main__":
    main()
