"""Renderings: one module per media type, pure functions between bytes and the model."""
