"""Sede hub devices: one-time enrollment codes and revocable device credentials."""
