"""The sync protocol's pure logic, shared by the hub agent and central: contiguous
acknowledgement, change-log cursors, revisions and conflicts, batching, back-off and
fingerprints. No I/O frameworks here (no FastAPI, paho or Qt)."""
