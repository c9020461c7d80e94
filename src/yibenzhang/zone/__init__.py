"""The data zone: collected rows as numbered batches of Parquet, published atomically, read
through an engine interface (DuckDB here; Spark later over the same layout)."""
