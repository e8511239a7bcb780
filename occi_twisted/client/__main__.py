"""``python -m occi_twisted.client``: the same as the ``occi`` console script."""

from .main import main

main()
