"""The modules that define tables on the shared Base; Alembic's env.py imports each of them.

Other packages append their own module here (one line each) so that migrations and
``Base.metadata`` see their tables, e.g. ``"sessions.servicedesk.tables"``.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

TABLE_MODULES: list[str] = [
    "sessions.store.models",
    "sessions.servicedesk.tables",
    "sessions.store.recordings_tables",
]


def import_table_modules() -> list[str]:
    """Import every listed module that exists; return the names imported."""
    imported = []
    for name in TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Only a module that is not there yet is skipped; a broken import inside it is not.
            if exc.name != name:
                raise
            log.warning("table module %s is listed but missing", name)
            continue
        imported.append(name)
    return imported
