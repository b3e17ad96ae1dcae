"""Business days in Peru: weekends and public holidays (``holidays`` package, country PE), plus
configurable extra non-working days (e.g. a decreed day off) — used for legal deadlines."""
