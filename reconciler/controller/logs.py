"""Structured logs: JSON lines for machines, a readable console rendering for people.

Every line carries bound context (``account=``, ``keys=``, ``action=``) and never a contact's
body or a credential: contacts are personal data, and log pipelines keep things for years.
Console logs are coloured only on a terminal, and never when ``NO_COLOR`` is set.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import IO, Any, Literal, TextIO

import structlog

__all__ = ["LogFormat", "configure_logging", "use_color"]

LogFormat = Literal["json", "console", "auto"]


def use_color(stream: IO[Any] | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Whether to colour what goes to ``stream`` (standard output by default): only a terminal,
    and never when ``NO_COLOR`` (https://no-color.org) is set to anything but the empty string.
    """
    environment = os.environ if env is None else env
    if environment.get("NO_COLOR"):
        return False
    isatty = getattr(stream if stream is not None else sys.stdout, "isatty", None)
    return bool(isatty is not None and isatty())


def configure_logging(
    log_format: LogFormat = "auto", *, stream: TextIO | None = None, level: int = logging.INFO
) -> None:
    """Route structlog to ``stream`` (stderr by default) as JSON, or as console text on a TTY
    when ``log_format`` is ``auto``."""
    out = stream if stream is not None else sys.stderr
    if log_format == "auto":
        log_format = "console" if out.isatty() else "json"
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=use_color(out))
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
