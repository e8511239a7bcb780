"""Drivers: what really performs an action on the infrastructure.

The server finds drivers as :mod:`twisted.plugin` plugins in :mod:`occi_twisted.plugins` (the
top-level ``plugins/`` folder of the source tree, where deployers can drop their own).
"""

from .interface import (
    ActionContext,
    ActionOutcome,
    IConsoles,
    IDriver,
    IDriverFactory,
    IDriverOptions,
    IHoldings,
    IImages,
    IInfrastructure,
    InvalidTransition,
    Report,
    findDriver,
)

__all__ = ["ActionContext", "ActionOutcome", "IConsoles", "IDriver", "IDriverFactory",
           "IDriverOptions", "IHoldings", "IImages", "IInfrastructure", "InvalidTransition",
           "Report", "findDriver"]
