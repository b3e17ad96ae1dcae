"""Append-only, hash-chained audit log of writes, sign-ins and sensitive reads."""
