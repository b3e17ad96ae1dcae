"""Central's side of hub <-> central synchronisation: the inbox and the site-owned records it
feeds, the change log of central-owned records, conflicts, dead letters, per-sede status."""


def install(app):  # noqa: ANN001, ANN201 - called by central.app when the package is present
    from central.sync.views import install as _install

    _install(app)
