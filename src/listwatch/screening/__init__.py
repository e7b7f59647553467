"""Screening: queries and batches against the lists live on a date."""
