"""Wire formats shared by every ALEGRA component (MQTT topics and payloads, sync envelopes).

Pure data: pydantic models and topic helpers, no I/O.
"""
