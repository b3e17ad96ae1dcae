"""Citizens registry (Module 02): identity documents, contact, ubigeo, vulnerability flags,
duplicate detection and merges, and the Ley 29360 sworn statement of economic situation."""
