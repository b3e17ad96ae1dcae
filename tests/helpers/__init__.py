"""Helpers shared by the tests and the benches (bench/*.py put the repository on sys.path):
central seeded with an enrolled hub, fingerprints of synced data on both sides, and writes the
hub's runtime never makes on its own. Never imported by runtime packages."""
