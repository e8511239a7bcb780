"""Watching the server run: its health for load balancers, its metrics for the operator.

:class:`Metrics` holds what one server counts (:mod:`.metrics`), with the figures read from
the store when scraped (:mod:`.collector`); :class:`Health` says whether the store answers,
the scheduler runs and the XMPP component is connected (:mod:`.health`).  The HTTP routes that
show them are :mod:`occi_twisted.http.monitoring`'s.
"""

from .health import Health
from .metrics import Metrics

__all__ = ["Health", "Metrics"]
