"""Sensitive records (Ley 29733: health, psychological, income and victim data): every read needs
an explicit permission and is audited. Later modules (05 multidisciplinary services) build on it."""
