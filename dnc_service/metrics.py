"""The store's Prometheus metric, kept apart so the store imports no interceptor."""

from __future__ import annotations

from prometheus_client import Counter

DATABASE_ERRORS = Counter("dnc_database_errors", "Database failures by kind", ["kind"])
