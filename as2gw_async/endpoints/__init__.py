"""Endpoint groups of the AS2 Gateway API, each a thin layer over `Session`."""
