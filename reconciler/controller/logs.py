"""Structured logs: JSON lines for machines, a readable console rendering for people.

Every line carries bound context (``account=``, ``keys=``, ``action=``) and never a contact's
body or a credential: contacts are personal data, and log pipelines keep things for years.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal, TextIO

import structlog

__all__ = ["LogFormat", "configure_logging"]

LogFormat = Literal["json", "console", "auto"]


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
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
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
