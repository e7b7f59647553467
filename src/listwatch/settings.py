"""Settings, built once at the edge (CLI flags and `LISTWATCH_*` environment) and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "default_analyst", "default_db_url", "default_key_dir"]


def default_db_url() -> str:
    """A SQLite file in the user's data directory (e.g. ~/.local/share/listwatch/listwatch.db)."""
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('listwatch')) / 'listwatch.db'}"


def default_analyst() -> str:
    """The operating-system user: who screened or reviewed, when no flag or LISTWATCH_ANALYST says."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return "unknown"


def default_key_dir() -> Path:
    """Where the certificate signing key lives (e.g. ~/.config/listwatch/keys), outside the database."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("listwatch")) / "keys"


@dataclass(frozen=True)
class Settings:
    db_url: str
    analyst: str | None = None  # LISTWATCH_ANALYST
    key_dir: Path | None = None  # LISTWATCH_KEY_DIR
    #: Price files or folders for the web UI's charts and event studies (LISTWATCH_PRICES).
    prices: tuple[Path, ...] = ()
    #: Market indexes as `listwatch impact --market` takes them, `HK=HSI.csv` (LISTWATCH_MARKET).
    markets: tuple[str, ...] = ()

    def who(self, analyst: str | None = None) -> str:
        """The analyst to record: the flag, else LISTWATCH_ANALYST, else the operating-system user."""
        for given in (analyst, self.analyst):
            if given and given.strip():
                return given.strip()
        return default_analyst()

    def signing_key_dir(self) -> Path:
        return self.key_dir if self.key_dir is not None else default_key_dir()

    @classmethod
    def from_env(cls, db: str | None = None) -> Settings:
        """`db` (the --db flag) wins over LISTWATCH_DB, which wins over the default file.

        A bare path is accepted for --db and taken as a SQLite file. LISTWATCH_ANALYST and
        LISTWATCH_KEY_DIR give `analyst` and `key_dir` (see `who` and `signing_key_dir`);
        LISTWATCH_PRICES and LISTWATCH_MARKET (lists separated by `os.pathsep`, `:` or `;` on
        Windows) give `prices` and `markets`.
        """
        url = db or os.environ.get("LISTWATCH_DB") or default_db_url()
        if "://" not in url:
            url = f"sqlite:///{Path(url).expanduser()}"
        key_dir = os.environ.get("LISTWATCH_KEY_DIR")
        return cls(
            db_url=url,
            analyst=os.environ.get("LISTWATCH_ANALYST") or None,
            key_dir=Path(key_dir).expanduser() if key_dir else None,
            prices=tuple(Path(p).expanduser() for p in _env_list("LISTWATCH_PRICES")),
            markets=tuple(_env_list("LISTWATCH_MARKET")),
        )


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(os.pathsep) if item.strip()]
