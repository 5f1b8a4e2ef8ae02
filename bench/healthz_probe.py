"""Probes one URL at a fixed period from a process of its own; prints one line per probe.

A probe thread inside a benchmark shares that process's GIL with the benchmark's own work, and
``bench/domain.py`` decodes the emulator's dumps of whole address books while it waits for
convergence (at 100 x 1,000 a ``json.loads`` of 20 books of 1,000 contacts, which holds the GIL
throughout): a probe due meanwhile was sent, or its answer read, only after that, and the
benchmark charged the wait to the controller. In a process of its own a probe waits only for
the controller (and for the machine's cores).

Each line is ``STARTED SECONDS RESULT``: the probe's start on the system's monotonic clock
(``time.monotonic``, the same in every process), how long it took, and the status code or the
name of the error. Runs until terminated.

    python bench/healthz_probe.py URL [EVERY_SECONDS]
"""

from __future__ import annotations

import sys
import time

import httpx


def main() -> None:
    url, every = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.05
    with httpx.Client(timeout=60) as http:
        while True:
            began = time.monotonic()
            try:
                result = str(http.get(url).status_code)
            except httpx.HTTPError as error:
                result = type(error).__name__
            took = time.monotonic() - began
            print(f"{began:.6f} {took:.6f} {result}", flush=True)
            time.sleep(max(0.0, every - took))


if __name__ == "__main__":
    main()
