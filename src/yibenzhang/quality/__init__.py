"""Data quality: rules, evaluation, scores, objections."""
