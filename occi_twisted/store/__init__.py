"""Storage of entities and shared state, behind one interface with several backends."""
