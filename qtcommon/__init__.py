"""Shared client library of the Qt apps (kiosk, display, counter).

- ``hub_client.HubClient``: MQTT connection to the sede hub (typed signals, cached retained
  state, ``request(action, params, timeout_s)`` → ``PendingRequest.finished(CommandResponse)``).
- ``theme``: tokens + ordered QSS files (``apply_theme(app, LIGHT, Path(__file__).parent / "styles")``).
- ``i18n.Translator``: JSON catalogues per package, es-PE reference, ``--lang-file`` override.
- ``clock``: Lima time formatting. ``widgets``: header bar, connection banner.
- ``screenshot``: offscreen PNG rendering for tests and ``alegra screens``.
"""
