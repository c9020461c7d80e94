"""Collection: readers (files, databases, HTTP push), mapping to items, coercion, rejects, and
the pipeline that publishes a batch into the zone."""
