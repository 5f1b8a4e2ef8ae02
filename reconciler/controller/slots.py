"""Pass slots: how many reconcile passes a replica runs at once, and who goes first.

A replica keeping a thousand accounts must not start a thousand passes at once: each holds its
desired state, its listing, its plan and its write answers while it runs, and their CPU bursts
stall the event loop. So passes take one of a fixed number of slots. Waiting is first come, first
served, with one exception: a pass for a manifest edit or a live change goes before every
waiting start or resync pass, so an edit is applied within seconds while a domain converges
(a first pass of every account can otherwise queue for minutes). An account runs one pass at a
time, so when an edit arrives while its own start pass is still waiting, that waiting pass is
promoted (:meth:`PassSlots.promote`): it re-reads the manifests anyway, and the edit would
otherwise wait behind every other account's first pass. And since a pass of a thousand
contacts can hold its slot for a minute on a busy replica, urgent passes may also take one of
a few ``reserve`` slots beyond the limit that the others never take. The line itself is
:class:`~reconciler.people.turns.Turns`, which the pacer's buckets take in the same order.
"""

from __future__ import annotations

from reconciler.people.turns import Ticket, Turns

__all__ = ["PassSlots", "Ticket"]


class PassSlots(Turns):
    """``size`` pass slots shared by the accounts of one replica, and ``reserve`` more for
    urgent passes only."""
