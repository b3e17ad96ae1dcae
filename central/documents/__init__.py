"""Document storage outside the database: a small adapter Protocol, a local-directory
implementation, SHA-256 of every file and the type/size limits checked before anything is kept."""
