"""Staff accounts: profiles, scope (sede, district or national), credentials state."""
