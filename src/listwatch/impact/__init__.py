"""Market impact of list events: prices, trading calendars, event-study models and statistics.

Layer: imports the registry, store, model and identifiers; never screening, the CLI or the API.
See docs/impact.md for the models, every statistic's formula and the conventions chosen.
"""
