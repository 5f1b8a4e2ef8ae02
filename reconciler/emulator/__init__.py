"""A faithful local People API: same paths, limits, errors and output-only fields as Google's.

Tests drive it in process (``httpx.ASGITransport(app=create_app())``), ``reconciler emulator``
serves it over HTTP, and the embedded target runs it inside the client. The knobs in
:class:`EmulatorConfig` make it misbehave like the real service; ``docs/emulator.md`` documents
them and the ``/__emulator/`` admin surface.
"""

from reconciler.emulator.app import create_app
from reconciler.emulator.backend import Emulator
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.persistence import StateFileError
from reconciler.emulator.server import BackgroundServer

__all__ = [
    "BackgroundServer",
    "Emulator",
    "EmulatorConfig",
    "StateFileError",
    "create_app",
]
