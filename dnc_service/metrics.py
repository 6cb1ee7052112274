"""The inner layers' Prometheus metrics (store, streams), kept apart so they import no
interceptor."""

from __future__ import annotations

from prometheus_client import Counter

DATABASE_ERRORS = Counter("dnc_database_errors", "Database failures by kind", ["kind"])
# One lookup per ScrubDnc message: shows a scrub's pace, and that a cancelled one stops.
SCRUB_LOOKUPS = Counter("dnc_scrub_lookups", "ScrubDnc lookups sent, one per request message")
