"""OpenLineage run events (issue 18): produced where data moves, kept in a durable outbox in the
metadata store, and delivered by the worker to YBZ_LINEAGE_URL (OpenLineage's HTTP transport)."""
