"""listwatch: restricted-party lists with full history and as-of answers."""

__version__ = "0.1.0"
