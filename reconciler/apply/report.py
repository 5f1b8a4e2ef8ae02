"""What a person sees during and after an apply: a progress bar, a summary, what is left.

On a terminal a rich progress bar counts settled objects; elsewhere (CI, pipes) nothing is
drawn and the result is printed as plain lines, one per object that changed or is left, so that
logs stay greppable. No line ever carries contact data: only manifest names, resource names,
outcomes and reasons.
"""

from __future__ import annotations

from typing import Any

from reconciler.apply.results import ApplyResult, Outcome


class ProgressBar:
    """A rich progress bar that exists only when ``enabled`` and once :meth:`start` is called."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None

    def start(self, total: int) -> None:
        if not self.enabled or total <= 0 or self._progress is not None:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("Applying", total=total)

    def advance(self, n: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def render_result(result: ApplyResult, *, verbose: bool) -> str:
    """Lines per changed object (when ``verbose``), what is left, and the summary line."""
    lines: list[str] = []
    if verbose:
        for r in result.results:
            if (r.outcome is Outcome.UNCHANGED and not r.reason) or not r.outcome.converged:
                continue  # unchanged with a reason: kept by the plan, worth showing
            line = f"{r.outcome} {r.kind} {r.key}"
            if r.resource_name:
                line += f" {r.resource_name}"
            if r.reason:
                line += f" ({r.reason})"
            lines.append(line)
    left = result.left
    if left:
        lines.append(f"Left unconverged ({len(left)}):")
        for r in left:
            line = f"  {r.outcome} {r.kind} {r.key}: {r.reason or 'no reason given'}"
            if r.retry_at is not None:
                line += f" (next attempt after {r.retry_at.isoformat(timespec='seconds')})"
            lines.append(line)
    lines.append(result.summary())
    return "\n".join(lines)
