"""Migration between endpoints: a resource, what goes with it, its notes and images copied
to a peer, then forwarded from here (see :mod:`occi_twisted.model.forwards`)."""
