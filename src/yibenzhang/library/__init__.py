"""Base and theme libraries (基础库 / 主题库) fused from collected resources: 一人一档, 一企一档.

A library is a catalogue resource whose definition (canonical items, entity key, contributing
resources and their mappings, authority per item from the 一数一源 claims, fallback order,
freshness) is versioned with it (`definition`); fusion is a job on the zone engine that writes
one row per entity with per-value provenance and publishes it as a batch of the library
(`fusion`, `run`); conflicts go back to the sources through the objection workflow
(`conflicts`); authorised callers with a grant read one entity's record (`views`).
"""
