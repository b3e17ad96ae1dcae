"""Authentication and authorization (Module 07): passwords, tokens, web sessions, TOTP, policy."""
