"""Settings, built once at the edge (CLI flags and `LISTWATCH_*` environment) and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "default_db_url"]


def default_db_url() -> str:
    """A SQLite file in the user's data directory (e.g. ~/.local/share/listwatch/listwatch.db)."""
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('listwatch')) / 'listwatch.db'}"


@dataclass(frozen=True)
class Settings:
    db_url: str

    @classmethod
    def from_env(cls, db: str | None = None) -> Settings:
        """`db` (the --db flag) wins over LISTWATCH_DB, which wins over the default file.

        A bare path is accepted for --db and taken as a SQLite file.
        """
        url = db or os.environ.get("LISTWATCH_DB") or default_db_url()
        if "://" not in url:
            url = f"sqlite:///{Path(url).expanduser()}"
        return cls(db_url=url)
