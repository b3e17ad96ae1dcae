"""Framework-free building blocks shared by central's domain packages: errors, the acting user,
ids and clocks. Nothing here imports FastAPI or Starlette (import-linter checks it)."""
