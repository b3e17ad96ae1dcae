"""Infrastructure of the central server: database, HTTP plumbing, logging."""
