"""Reading the parties to screen from CSV, Excel or Parquet files (pandas at the edge).

Each row becomes a `MatchQuery` with its row number; a row that cannot become a query is reported
with its number and the reason, never dropped silently and never fatal for the batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from listwatch.errors import InvalidQuery, ParseError
from listwatch.matching.query import MatchQuery
from listwatch.model import IDENTIFIER_SCHEMES

__all__ = ["SUPPORTED_SUFFIXES", "InputRow", "read_frame", "read_parties"]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")

# Column names users commonly give identifier columns, mapped to listwatch schemes.
_ID_ALIASES = {
    "isin_code": "isin",
    "isincode": "isin",
    "lei_code": "lei",
    "leicode": "lei",
    "symbol": "ticker",
}
_NAME_GUESSES = ("name", "full_name", "company", "company_name", "entity", "party", "counterparty", "issuer")


@dataclass(frozen=True)
class InputRow:
    row_number: int  # 1-based data row; the header is row 0 (a CSV file's line is row_number + 1)
    key: str  # the row's own id column if named, else its row number
    query: MatchQuery | None
    raw: dict[str, Any]


def read_frame(path: Path) -> Any:
    """The file as a pandas DataFrame of strings, by its suffix; `ParseError` naming the file."""
    import pandas as pd  # type: ignore[import-untyped]

    suffix = path.suffix.lower()
    if not path.exists():
        raise ParseError(path, None, "no such file")
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if suffix == ".tsv":
            return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if suffix == ".xlsx":
            return pd.read_excel(path, dtype=str, keep_default_na=False)
        if suffix == ".parquet":
            return pd.read_parquet(path).astype(str)
    except UnicodeDecodeError as exc:
        raise ParseError(path, None, f"not UTF-8 text ({exc.reason}); save the file as UTF-8") from None
    except (ValueError, OSError, ImportError) as exc:  # pandas' parser errors are ValueErrors
        raise ParseError(path, None, f"cannot read as {suffix[1:]}: {exc}") from None
    raise ParseError(path, None, f"unsupported file type {suffix!r}; use {', '.join(SUPPORTED_SUFFIXES)}")


def _find(columns: Sequence[str], wanted: str, path: Path) -> str:
    for column in columns:
        if column.strip().lower() == wanted.strip().lower():
            return column
    raise ParseError(path, 1, f"no column {wanted!r}; the file has: {', '.join(columns)}")


def read_parties(
    path: Path,
    *,
    name_column: str | None = None,
    id_columns: Sequence[str] = (),
    key_column: str | None = None,
    schema_column: str | None = None,
    country_column: str | None = None,
    schema: str = "LegalEntity",
) -> Iterator[InputRow]:
    """Yield one `InputRow` per data row. `id_columns` are `scheme` or `column=scheme` items."""
    frame = read_frame(path)
    columns = [str(c) for c in frame.columns]
    if name_column is None:
        guesses = [c for c in columns if c.strip().lower() in _NAME_GUESSES]
        if not guesses:
            raise ParseError(
                path, 1, f"no name column found; name it with --name-column ({', '.join(columns)})"
            )
        name_column = guesses[0]
    name_col = _find(columns, name_column, path)
    id_map: list[tuple[str, str]] = []
    for item in id_columns:
        column, _, scheme = item.partition("=")
        scheme = (scheme or column).strip().lower()
        scheme = _ID_ALIASES.get(scheme, scheme)
        if scheme not in IDENTIFIER_SCHEMES:
            raise InvalidQuery(
                f"--id-columns: {item!r} names no identifier type; known: {', '.join(IDENTIFIER_SCHEMES)}"
            )
        id_map.append((_find(columns, column, path), scheme))
    key_col = _find(columns, key_column, path) if key_column else None
    schema_col = _find(columns, schema_column, path) if schema_column else None
    country_col = _find(columns, country_column, path) if country_column else None
    for index, raw in enumerate(frame.to_dict(orient="records"), start=1):
        name = str(raw.get(name_col) or "").strip()
        identifiers: dict[str, tuple[str, ...]] = {}
        for column, scheme in id_map:
            value = str(raw.get(column) or "").strip()
            if value:
                identifiers[scheme] = (*identifiers.get(scheme, ()), value)
        country = str(raw.get(country_col) or "").strip() if country_col else ""
        query = MatchQuery(
            names=(name,) if name else (),
            schema=str(raw.get(schema_col) or schema).strip() if schema_col else schema,
            countries=(country,) if country else (),
            identifiers=identifiers,
        )
        key = str(raw.get(key_col)) if key_col else str(index)
        yield InputRow(index, key, query, raw)
