"""Curated catalogs beside the records: text guidance and image baselines (issue #15)."""
