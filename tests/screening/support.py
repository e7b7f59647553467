"""What the audit tests share: the real list they screen, a small real input, the CLI runner.

Nothing here stands in for listwatch code.
"""

from __future__ import annotations

from typer.testing import CliRunner

from listwatch.cli import app

CCMC = "us_dod_1237_ccmc"
XIAOMI = "us-dod-1237-ccmc-xiaomi-corporation"
CHINA_MOBILE_GROUP = "us-dod-1237-ccmc-china-mobile-communications-group"
PARTIES = (
    "id,name\n"
    "A1,Xiaomi Corporation\n"
    "A2,China Mobile Limited\n"
    "A3,Acme Bakery Ltd\n"
    "A4,Rosewood Garden Supplies\n"
    "A5,!!!\n"
)

runner = CliRunner()


def cli(db_url: str, env: dict[str, str], *args: str) -> object:
    return runner.invoke(app, ["--db", db_url, *args], env=env)
