"""Catalogue search (issue 19): the index the catalogue feeds, Chinese segmentation, ranked and
faceted queries over what the actor may see. It imports nothing of the catalogue."""
