"""Composition root of ALEGRA: the ``alegra`` command and the demo that wires components."""
