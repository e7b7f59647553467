"""The `listwatch` command: thin Typer commands that call the registry and render with Rich.

Every read command takes `--json` and prints the same objects' `to_dict()` for machines.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
from rich.console import Console
from rich.table import Table

from listwatch.errors import InvalidQuery, ListwatchError
from listwatch.model import parse_day
from listwatch.settings import Settings


class _Group(typer.core.TyperGroup):
    """Turns every `ListwatchError` into one line on stderr and exit code 1, never a traceback."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]  # typer's own Context
        try:
            return super().invoke(ctx)
        except ListwatchError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            ctx.exit(1)


app = typer.Typer(
    cls=_Group,
    name="listwatch",
    help="Restricted-party lists with full history: ingest official files, ask where an entity "
    "stood on any date.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")]


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


def _store(ctx: typer.Context) -> Any:
    from listwatch.store import open_store

    settings: Settings = ctx.obj
    return open_store(settings.db_url)


@app.callback()
def _main(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database: a SQLAlchemy URL or a SQLite file path. "
            "Default: $LISTWATCH_DB, else listwatch.db in the user data directory.",
        ),
    ] = None,
) -> None:
    ctx.obj = Settings.from_env(db)


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files, or folders holding one list version.")],
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="Input format; detected from content when omitted.")
    ] = None,
    list_id: Annotated[
        str | None, typer.Option("--list", "-l", help="List id (see `listwatch lists --known`).")
    ] = None,
    published: Annotated[
        str | None,
        typer.Option("--published", help="Publication date YYYY-MM-DD, when the files do not state it."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Read one version of a list and store it as a snapshot, with the changes it brings."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from listwatch.registry.snapshots import ingest as run_ingest

    published_on = parse_day(published, "--published")
    store = _store(ctx)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=as_json or not err.is_terminal) as bar:
        task = bar.add_task("reading", total=None)
        result = run_ingest(
            store,
            paths,
            format_name=format,
            list_id=list_id,
            published=published_on,
            progress=lambda message: bar.update(task, description=message),
        )
    if as_json:
        _print_json(result.to_dict())
    else:
        for item in (result, *result.others):  # a bundled file (the US CSL) stores several lists
            _print_ingest(item)
    if any(item.created for item in (result, *result.others)):
        _monitor_after_ingest(store)


@app.command("lists")
def lists_command(
    ctx: typer.Context,
    known: Annotated[bool, typer.Option("--known", help="Show every list id listwatch can ingest.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show the stored lists and their snapshots."""
    from listwatch.registry.overview import known_lists, stored_lists

    if known:
        rows = known_lists()
        if as_json:
            _print_json(rows)
            return
        table = Table("list", "title", "authority")
        for row in rows:
            table.add_row(row["id"], row["title"], row["authority"])
        out.print(table)
        return
    overview = stored_lists(_store(ctx))
    if as_json:
        _print_json([item.to_dict() for item in overview])
        return
    if not overview:
        out.print("No lists stored yet. Start with `listwatch ingest PATH`.")
        return
    for item in overview:
        table = Table(title=f"{item.list_id}: {item.title}", title_justify="left")
        for column in ("snapshot", "published", "records", "format", "ingested", "sha256"):
            table.add_column(column, justify="right" if column in ("snapshot", "records") else "left")
        for snap in item.snapshots:
            table.add_row(
                str(snap["id"]),
                snap["published"],
                f"{snap['records']:,}",
                snap["format"],
                snap["ingested_at"][:19].replace("T", " "),
                snap["sha256"][:12],
            )
        out.print(table)


_EVENT_STYLE = {
    "listed": "red",
    "delisted": "green",
    "vacated": "green",
    "enjoined": "yellow",
    "reinstated": "red",
    "amended": "cyan",
}


@app.command()
def history(
    ctx: typer.Context,
    query: Annotated[
        str, typer.Argument(help="A name, scheme:value (isin:..., ticker:1810.HK) or entity id.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Print an entity's timeline across all lists, each event with its source."""
    from listwatch.registry.history import entity_history

    found = entity_history(_store(ctx), query)
    if as_json:
        _print_json([h.to_dict() for h in found])
        return
    for item in found:
        table = Table(
            title=f"{item.caption}  [dim]{item.entity_id}[/]\n{item.list_title}",
            title_justify="left",
            show_lines=False,
        )
        table.add_column("date", no_wrap=True)
        table.add_column("event")
        table.add_column("source", overflow="fold")
        for ev in item.events:
            when = ev.effective_on.isoformat()
            if ev.date_basis == "first_snapshot":
                when = f"≤ {when}"
            detail = ev.source
            if ev.note:
                detail += f"\n[dim]{ev.note}[/]"
            if ev.changes:
                detail += "\n[dim]changed: " + ", ".join(sorted(ev.changes)) + "[/]"
            style = _EVENT_STYLE.get(ev.kind, "")
            table.add_row(when, f"[{style}]{ev.kind}[/]" if style else ev.kind, detail)
        out.print(table)


@app.command()
def status(
    ctx: typer.Context,
    query: Annotated[
        str, typer.Argument(help="A name, scheme:value (isin:..., ticker:1810.HK) or entity id.")
    ],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The day to answer for, YYYY-MM-DD (default: today).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Say on which lists an entity stood on a day, since when, under which programs."""
    from listwatch.registry.history import status_as_of

    day = _as_of(as_of)
    standings = status_as_of(_store(ctx), query, day)
    if as_json:
        _print_json([s.to_dict() for s in standings])
        return
    matches = "entry matches" if len(standings) == 1 else "entries match"
    out.print(f"[bold]{query}[/] on {day.isoformat()}: {len(standings)} list {matches}")
    colours = {"listed": "bold red", "suspended": "bold yellow", "not_listed": "bold green", "unknown": "dim"}
    for s in standings:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("state", f"[{colours[s.state]}]{s.state.replace('_', ' ')}[/]")
        grid.add_row("why", s.explanation)
        if s.programs:
            grid.add_row("programs", ", ".join(s.programs))
        if s.court_order is not None:
            grid.add_row(
                "court order", f"{s.court_order.effective_on} {s.court_order.kind}: {s.court_order.source}"
            )
        elif s.last_event is not None:
            grid.add_row("source", f"{s.last_event.effective_on} {s.last_event.kind}: {s.last_event.source}")
        out.print(f"\n[bold]{s.list_id}[/] · {s.caption} [dim]{s.entity_id}[/]")
        out.print(grid)


@app.command()
def diff(
    ctx: typer.Context,
    list_id: Annotated[str, typer.Argument(metavar="LIST", help="List id, e.g. us_ofac_sdn.")],
    from_: Annotated[
        str | None, typer.Option("--from", help="Snapshot number or date (default: the one before --to).")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Snapshot number or date (default: the newest).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to show per kind of change (0: counts only).")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """Show what changed in a list between two snapshots (or dates)."""
    from listwatch.registry.overview import list_diff

    result = list_diff(_store(ctx), list_id, from_, to)
    if as_json:
        _print_json(result.to_dict())
        return
    out.print(f"[bold]{list_id}[/]: {result.describe_range()}")
    out.print(
        f"  [red]{len(result.listed):,} listed[/], [green]{len(result.delisted):,} delisted[/], "
        f"[cyan]{len(result.amended):,} amended[/], {result.unchanged:,} unchanged"
    )
    programs = result.by_program()
    if programs and limit > 0:
        summary = Table(title="by program", title_justify="left")
        for column in ("program", "listed", "delisted", "amended"):
            summary.add_column(column, justify="left" if column == "program" else "right")
        for program, counts in list(programs.items())[:limit]:
            summary.add_row(program, *(f"{counts[k]:,}" for k in ("listed", "delisted", "amended")))
        if len(programs) > limit:
            summary.caption = f"{len(programs) - limit} more programs (--limit, or --json)"
        out.print(summary)
    sections = (
        ("listed", result.listed),
        ("delisted", result.delisted),
        ("amended", result.amended),
        ("court and other actions", result.other),
    )
    for title, rows in sections:
        if not rows or limit <= 0:
            continue
        table = Table(title=f"{title} ({len(rows):,}, first {min(limit, len(rows))})", title_justify="left")
        for column in ("date", "entity", "id", "detail"):
            table.add_column(column, overflow="fold")
        for row in rows[:limit]:
            table.add_row(row.effective_on, row.caption, row.entity_id, row.detail)
        out.print(table)


@app.command()
def export(
    ctx: typer.Context,
    format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: ftm (FollowTheMoney JSON lines).")
    ] = "ftm",
    list_ids: Annotated[
        list[str] | None, typer.Option("--list", "-l", help="Only these lists (repeatable).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file (default: standard output).")
    ] = None,
) -> None:
    """Export entities and their listing periods (Sanction entities) as FollowTheMoney JSON lines."""
    from listwatch.registry.export import export_ftm

    if format != "ftm":
        raise InvalidQuery(f"--format: unknown export format {format!r}; known: ftm")
    store = _store(ctx)
    if output is None:
        count = export_ftm(store, sys.stdout, list_ids=list_ids)
    else:
        tmp = output.with_name(output.name + ".partial")
        with tmp.open("w", encoding="utf-8") as handle:
            count = export_ftm(store, handle, list_ids=list_ids)
        tmp.replace(output)
        err.print(f"wrote {count:,} entities to {output}")


def main() -> None:
    """Console entry point."""
    app()


ScreenAsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Screen against the lists as they stood that day (default: today)."),
]
ScreenLists = Annotated[list[str] | None, typer.Option("--list", "-l", help="Only these lists (repeatable).")]


def _as_of(value: str | None) -> date:
    return parse_day(value, "--as-of") or date.today()


@app.command()
def match(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The name to screen, in any script.")],
    schema: Annotated[
        str, typer.Option(help="Person, Company, Organization, Vessel, Airplane or LegalEntity.")
    ] = "LegalEntity",
    country: Annotated[
        list[str] | None, typer.Option("--country", help="Country code or name (repeatable).")
    ] = None,
    isin: Annotated[str | None, typer.Option(help="ISIN (check digit verified).")] = None,
    lei: Annotated[str | None, typer.Option(help="LEI (check digits verified).")] = None,
    ticker: Annotated[str | None, typer.Option(help="Ticker with market, e.g. 1810.HK.")] = None,
    imo: Annotated[str | None, typer.Option(help="IMO ship number.")] = None,
    birth_date: Annotated[
        str | None, typer.Option("--birth-date", help="YYYY, YYYY-MM or YYYY-MM-DD.")
    ] = None,
    as_of: ScreenAsOf = None,
    list_ids: ScreenLists = None,
    threshold: Annotated[
        float | None, typer.Option(help="Score from which a hit is a match (default: the algorithm's).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Hits to show.")] = 5,
    as_json: JsonFlag = False,
) -> None:
    """Find the listed entities a name may be, scored 0-1 and explained."""
    from listwatch.matching.query import MatchQuery, identifiers_from_options
    from listwatch.matching.score import DEFAULT_THRESHOLD
    from listwatch.screening.screener import Screener

    query = MatchQuery(
        names=(name,),
        schema=schema,
        countries=tuple(country or ()),
        identifiers=identifiers_from_options(
            [("isin", isin), ("lei", lei), ("ticker", ticker), ("imo", imo)]
        ),
        birth_dates=(birth_date,) if birth_date else (),
    )
    screener = Screener(
        _store(ctx), as_of=_as_of(as_of), lists=list_ids, threshold=threshold or DEFAULT_THRESHOLD
    )
    response = screener.match(query, limit=limit)
    if as_json:
        _print_json(response.to_dict())
        return
    out.print(
        f"[bold]{name}[/] as of {response.as_of}: {len(response.matches)} match(es) at threshold "
        f"{response.threshold}, {response.total_candidates} candidate(s) scored"
    )
    table = Table()
    table.add_column("score", no_wrap=True)
    table.add_column("listed entity", overflow="fold", ratio=2)
    table.add_column("list, since, programs", overflow="fold", ratio=2)
    table.add_column("why", overflow="fold", ratio=3)
    for hit in response.hits:
        data = hit.to_dict()
        style = "bold red" if hit.match else "dim"
        state = "" if data["state"] == "listed" else f" ({data['state']})"
        table.add_row(
            f"[{style}]{hit.score:.3f}[/]",
            f"{data['caption']}\n[dim]{data['id']}[/]",
            f"{data['list']}{state}\nsince {data['listed_since']}\n{', '.join(data['programs'])}",
            "; ".join(f"{e.feature} {e.detail}".strip() for e in hit.scored.explanations),
        )
    out.print(table)


@app.command()
def screen(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="Parties to screen: .csv, .tsv, .xlsx or .parquet, or a folder of them (partitions)."
        ),
    ],
    name_column: Annotated[
        str | None,
        typer.Option("--name-column", help="Column holding names (default: guessed: name, company, ...)."),
    ] = None,
    id_columns: Annotated[
        list[str] | None,
        typer.Option("--id-columns", help="Identifier columns, `isin` or `column=isin` (repeatable)."),
    ] = None,
    key_column: Annotated[
        str | None,
        typer.Option("--key-column", help="Column with your own row id, copied to the results."),
    ] = None,
    country_column: Annotated[
        str | None, typer.Option("--country-column", help="Column with a country.")
    ] = None,
    schema: Annotated[str, typer.Option(help="Schema of every row (Person, Company, ...).")] = "LegalEntity",
    as_of: ScreenAsOf = None,
    list_ids: ScreenLists = None,
    threshold: Annotated[float | None, typer.Option(help="Score from which a hit is a match.")] = None,
    limit: Annotated[int, typer.Option(help="Hits kept per row.")] = 3,
    output: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="results.csv, .json or .html (default: a table); a folder when partitioned."
        ),
    ] = None,
    analyst: AnalystOption = None,
    cluster: Annotated[
        str | None,
        typer.Option("--cluster", help="Screen partitions on this Dask scheduler, tcp://HOST:8786."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Screen partitions on a local Dask cluster of N processes."),
    ] = None,
    partition_rows: Annotated[
        int, typer.Option("--partition-rows", help="Rows per partition when one file is split.")
    ] = 20_000,
    retries: Annotated[int, typer.Option("--retries", help="Attempts after a partition's first fails.")] = 2,
) -> None:
    """Screen a file of names in one batch: every hit with score, explanation, lists and programs.

    The run is stored (see `listwatch runs`); hits reviewed as false positives before are shown as
    dismissed. With `--cluster`, `--workers` or a folder, partitions are screened on a Dask cluster
    and written as Parquet files to the `--out` folder (docs/distributed.md); no run is stored."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from listwatch.matching.score import DEFAULT_THRESHOLD
    from listwatch.screening.batches import screen_file
    from listwatch.screening.reports import OUTPUT_SUFFIXES, write_results
    from listwatch.screening.runs import RunParameters

    partitioned = cluster is not None or workers is not None or file.is_dir()
    if not partitioned and output is not None and output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InvalidQuery(f"--out: unsupported output {output.name!r}; use {', '.join(OUTPUT_SUFFIXES)}")
    parameters = RunParameters(
        as_of=_as_of(as_of),
        lists=tuple(list_ids) if list_ids else None,
        threshold=threshold or DEFAULT_THRESHOLD,
        limit=limit,
        name_column=name_column,
        id_columns=tuple(id_columns or ()),
        key_column=key_column,
        country_column=country_column,
        schema=schema,
    )
    settings: Settings = ctx.obj
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    if partitioned:
        _screen_partitioned(ctx, file, parameters, output, cluster, workers, partition_rows, retries, columns)
        return
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("screening", total=None)
        run = screen_file(
            _store(ctx),
            file,
            parameters=parameters,
            analyst=settings.who(analyst),
            progress=lambda n: bar.update(task, completed=n),
        )
    _print_run_summary(run)
    if output is not None:
        write_results(run, output)
        err.print(f"wrote {output}")
        return
    _print_hits(run)


@app.command("score-pairs")
def score_pairs_command(
    file: Annotated[
        Path,
        typer.Argument(help="CSV with name1,name2[,schema] or JSON lines of {left, right} FtM entities."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write CSV or JSON lines here (default: standard output as CSV)."),
    ] = None,
    threshold: Annotated[float | None, typer.Option(help="Score from which a pair is a match.")] = None,
) -> None:
    """Score labelled pairs for evaluation: adds `score` and `match` to every row."""
    import csv as csv_module

    from listwatch.screening.pairs import score_pairs

    rows = score_pairs(file, threshold=threshold)
    as_jsonl = output is not None and output.suffix.lower() in (".json", ".jsonl", ".ndjson")
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if as_jsonl:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif rows:
            writer = csv_module.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    finally:
        if output:
            handle.close()
    matched = sum(1 for r in rows if r["match"])
    err.print(f"scored {len(rows):,} pairs: {matched:,} match")


# -- legal effect

_EFFECT_STYLE = {
    "in_force": "bold red",
    "suspended": "bold yellow",
    "pending": "yellow",
    "unknown": "dim",
    "ended": "green",
}


@app.command()
def effect(
    ctx: typer.Context,
    query: Annotated[
        str, typer.Argument(help="A name, scheme:value (isin:..., ticker:1810.HK) or entity id.")
    ],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The day to answer for, YYYY-MM-DD (default: today).")
    ] = None,
    ownership: Annotated[
        Path | None,
        typer.Option(
            "--ownership",
            help="CSV of holdings (owner,owned,percent): adds parents and OFAC's 50 percent rule.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Say what an entity's listings mean on a day: each effect's state, dates, reason and law."""
    from listwatch.rules.effects import legal_effect

    day = _as_of(as_of)
    report = legal_effect(_store(ctx), query, as_of=day, ownership=ownership)
    if as_json:
        _print_json(report.to_dict())
        return
    _print_effects(report)


def _short_citation(text: str) -> str:
    """ "EO 13959 s.1(a)(i): from 9:30 ... ; 85 FR 73185" -> "EO 13959 s.1(a)(i); 85 FR 73185": the
    table shows where the rule is, --json and docs/rules.md what it says."""
    head, _, rest = text.partition(":")
    register = rest.rpartition(";")[2].strip() if " FR " in rest.rpartition(";")[2] else ""
    return f"{head}; {register}" if register else head


def _print_effects(report: Any) -> None:
    entries = ", ".join(f"{e.list_id} {e.caption}" for e in report.entities) or "no stored list"
    out.print(
        f"[bold]{report.query}[/] on {report.as_of}: {len(report.effects)} effect(s) [dim]({entries})[/]"
    )
    if report.effects:
        table = Table(show_lines=True)
        for column in ("effect", "state", "start", "end", "reason", "citation"):
            table.add_column(column, overflow="fold", no_wrap=column in ("start", "end"))
        for e in report.effects:
            via = f"\n[dim]via {e.via}[/]" if e.via else ""
            citation = e.citations[0]
            table.add_row(
                f"{e.kind.replace('_', ' ')}\n[dim]{e.list_id}[/]",
                f"[{_EFFECT_STYLE[e.state]}]{e.state.replace('_', ' ')}[/]",
                str(e.start or "?"),
                str(e.end or ""),
                e.reason + via,
                f"[link={citation.url}]{_short_citation(citation.text)}[/link]",
            )
        out.print(table)
        out.print("[dim]citations in full: --json, or docs/rules.md[/]")
    if report.next_change is not None:
        out.print(f"next change: [bold]{report.next_change.text}[/] ({report.next_change.list_id})")
    for note in report.notes:
        out.print(f"[dim]note:[/] {note}", highlight=False)


# -- portfolio


@app.command()
def portfolio(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="Holdings: CSV, Excel or Parquet with isin, ticker, name and/or quantity columns."
        ),
    ],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The day to answer for, YYYY-MM-DD (default: today).")
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="First day of a timeline, YYYY-MM-DD (with --to).")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last day of a timeline, YYYY-MM-DD.")] = None,
    list_ids: ScreenLists = None,
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Also write report.csv, .json or .html (timelines get charts)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Screen holdings: each one's listed entity (by ISIN, ticker, then name, with listed parents and
    subsidiaries), the effects on a day and the next change, or a timeline from --from to --to."""
    from rich.markup import escape

    from listwatch.screening.portfolio import portfolio_timeline, read_holdings, screen_portfolio
    from listwatch.screening.portfolio_report import output_format, write_portfolio

    start, end = parse_day(from_, "--from"), parse_day(to, "--to")
    if as_of is not None and (start or end):
        raise InvalidQuery("give either --as-of, or --from and --to, not both")
    if (start is None) != (end is None):
        raise InvalidQuery("--from and --to go together: give both for a timeline")
    if start is not None and end is not None and end < start:
        raise InvalidQuery(f"--from {start} is after --to {end}")
    if output is not None:
        output_format(output)
    day = _as_of(as_of)
    holdings = read_holdings(file)
    store = _store(ctx)
    if start is not None and end is not None:
        report: Any = portfolio_timeline(store, holdings, start=start, end=end, lists=list_ids)
    else:
        report = screen_portfolio(store, holdings, as_of=day, lists=list_ids)
    for holding in holdings:
        for problem in ([holding.error] if holding.error else []) + list(holding.warnings):
            err.print(f"[yellow]row {holding.row_number}:[/] {escape(problem)}", highlight=False)
    if output is not None:
        write_portfolio(report, output, source=file.name)
        err.print(f"wrote {output}")
    if as_json:
        _print_json({"source": file.name, **report.to_dict()})
        return
    _print_portfolio(report)


def _print_portfolio(report: Any) -> None:
    """One row per matched entity, the holding's cells on its first row, a rule between holdings."""
    from rich.markup import escape

    timeline = hasattr(report, "start")
    counts = report.summary()
    when = f"{report.start} to {report.end}" if timeline else f"on {report.as_of}"
    out.print(
        f"[bold]{counts['holdings']} holdings[/] {when}: {counts['matched']} matched, "
        f"[red]{counts['restricted']} restricted[/]{' on some day' if timeline else ''}, "
        f"{counts['not_screened']} not screened",
        highlight=False,
    )
    last = ("restricted (in force)", "suspended") if timeline else ("effects on the day", "next change")
    table = Table("holding", "matched entity", "list", "how", *last)
    for row in report.holdings:
        holding = row.holding
        label = escape(holding.label)
        if holding.name not in (None, holding.label):
            label += f"\n[dim]{escape(holding.name)}[/]"
        if holding.error:
            label += f"\n[yellow]not screened: {escape(holding.error)}[/]"
        if timeline:
            tail = ["\n".join(f"{lo} to {hi}" for lo, hi in row.spans(s)) for s in ("in_force", "suspended")]
        else:
            tail = [
                "\n".join(
                    f"[{_EFFECT_STYLE[e.state]}]{e.kind.replace('_', ' ')}: {e.state.replace('_', ' ')}[/] "
                    f"{e.start or '?'} to {e.end or 'open'} [dim]({e.list_id}{', via parent' if e.via else ''})[/]"
                    for e in row.effects
                    if e.state != "ended"
                ),
                row.next_change.text if row.next_change else "",
            ]
        direct = [m for m in row.matches if m.how != "subsidiary"]
        children = len(row.matches) - len(direct)
        cells = [(escape(m.caption), m.list_id, m.how) for m in direct] or [("[dim]no match[/]", "", "")]
        if children:
            cells.append((f"[dim]+{children} listed subsidiaries (see --json)[/]", "", "subsidiary"))
        for index, (caption, list_id, how) in enumerate(cells):
            first = index == 0
            table.add_row(
                label if first else "",
                caption,
                list_id,
                how,
                *(tail if first else ["", ""]),
                end_section=index == len(cells) - 1,
            )
    out.print(table)


# -- runs, reviews and certificates

AnalystOption = Annotated[
    str | None,
    typer.Option("--analyst", help="Who is doing this, for the audit trail. Default: $LISTWATCH_ANALYST, "
                 "else the operating-system user."),
]  # fmt: skip
RunArgument = Annotated[str, typer.Argument(metavar="RUN", help="A stored run: run-0001, run-1 or 1.")]

runs_app = typer.Typer(help="Stored screening runs: list them, show one, screen one again.")
reviews_app = typer.Typer(help="Analysts' decisions on hits.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(reviews_app, name="reviews")

_REVIEW_STYLE = {"open": "bold red", "stale": "bold red", "confirmed": "bold red", "dismissed": "dim"}


def _screen_partitioned(
    ctx: typer.Context,
    file: Path,
    parameters: Any,
    output: Path | None,
    cluster: str | None,
    workers: int | None,
    partition_rows: int,
    retries: int,
    columns: Any,
) -> None:
    """`screen` on a Dask cluster: Parquet partitions in a folder, a summary, exit 1 if any failed."""
    from rich.progress import Progress

    from listwatch.screening.distributed import screen_distributed

    out_dir = output if output is not None else file.parent / f"{file.stem}-results"
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("partitions", total=None)
        summary = screen_distributed(
            _store(ctx),
            file,
            parameters=parameters,
            out_dir=out_dir,
            cluster=cluster,
            workers=workers,
            retries=retries,
            partition_rows=partition_rows,
            progress=lambda _outcome, done, total: bar.update(task, completed=done, total=total),
        )
    err.print(
        f"screened {summary.rows:,} rows in {len(summary.partitions) - len(summary.failed)} of "
        f"{len(summary.partitions)} partitions on {summary.workers} worker(s) as of {parameters.as_of}: "
        f"{summary.matches:,} with matches, {summary.row_errors:,} not screened; index ready in "
        f"{summary.index_seconds:.1f} s, {summary.seconds:.1f} s in all; results in {summary.out_dir}",
        highlight=False,
    )
    for part in summary.retried:
        err.print(f"[yellow]retried {part.name}:[/] {'; '.join(part.failed_attempts)}", highlight=False)
    for part in summary.failed:
        err.print(
            f"[bold red]failed {part.name}[/] ({part.source}) after {len(part.failed_attempts) + 1} "
            f"attempt(s): {part.error}",
            highlight=False,
            soft_wrap=True,
        )
    if summary.failed:
        raise typer.Exit(1)


def _print_run_summary(run: Any) -> None:
    counts = run.summary()
    err.print(
        f"{run.label}: screened {counts['rows']:,} rows as of {run.as_of}: "
        f"{counts['rows_with_open_hits']:,} with open hits, {counts['dismissed']:,} hit(s) dismissed, "
        f"{counts['not_screened']:,} not screened",
        highlight=False,
    )
    for row in [r for r in run.rows if r.error][:10]:
        err.print(f"[yellow]row {row.row_number}:[/] {row.error}", highlight=False)


def _print_hits(run: Any) -> None:
    table = Table("hit", "row", "query", "score", "entity", "list", "programs", "review")
    for row in run.rows:
        for hit in row.hits:
            style = _REVIEW_STYLE[hit.status.state]
            table.add_row(
                str(hit.number),
                f"{row.row_number}" + (f" ({row.key})" if row.own_key else ""),
                "; ".join(row.names),
                f"{hit.score:.3f}",
                f"{hit.caption}\n[dim]{hit.entity_id}[/]",
                hit.list_id,
                ", ".join(hit.data.get("programs", [])),
                f"[{style}]{hit.status.describe()}[/]",
            )
    out.print(table)


@runs_app.callback(invoke_without_command=True)
def runs_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many of the newest runs to list.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """List the stored screening runs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from listwatch.screening.runs import list_runs

    found = list_runs(_store(ctx), limit=limit)
    if as_json:
        _print_json([r.to_dict() for r in found])
        return
    if not found:
        out.print("No screening runs stored yet. Start with `listwatch screen FILE`.")
        return
    table = Table("run", "started (UTC)", "analyst", "input", "as of", "lists", "rows", "with hits", "hits")
    for r in found:
        table.add_row(
            r.label + (f"\n[dim]rerun of {r.to_dict()['rerun_of']}[/]" if r.rerun_of else ""),
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.analyst,
            r.input_name,
            r.as_of.isoformat(),
            ", ".join(r.lists) if r.lists else "all",
            f"{r.row_count:,}",
            f"{r.rows_with_hits:,}",
            f"{r.hit_count:,}",
        )
    out.print(table)


@runs_app.command("show")
def runs_show(
    ctx: typer.Context,
    run: RunArgument,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write results.csv, .json or .html.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show one run: who, when, what, the list snapshots, and every hit with its review status."""
    from listwatch.screening.reports import write_results
    from listwatch.screening.runs import load_run

    found = load_run(_store(ctx), run)
    if output is not None:
        write_results(found, output)
        err.print(f"wrote {output}")
    if as_json:
        _print_json(found.to_dict())
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("run", found.label + (f" (rerun of run-{found.rerun_of:04d})" if found.rerun_of else ""))
    grid.add_row("when", f"{found.started_at.isoformat()} to {found.finished_at.isoformat()}")
    grid.add_row("analyst", found.analyst)
    grid.add_row(
        "input", f"{found.input.name}, {found.input.size_bytes:,} bytes, sha256 {found.input.sha256}"
    )
    params = found.parameters
    grid.add_row(
        "parameters",
        f"as of {params.as_of}, threshold {params.threshold}, {params.limit} hits per row, {params.algorithm}",
    )
    for snap in found.snapshots:
        grid.add_row(
            "snapshot",
            f"{snap.list_id} #{snap.snapshot_id}, published {snap.published}, sha256 {snap.sha256}",
        )
    out.print(grid)
    _print_run_summary(found)
    _print_hits(found)


@runs_app.command("rerun")
def runs_rerun(
    ctx: typer.Context, run: RunArgument, analyst: AnalystOption = None, as_json: JsonFlag = False
) -> None:
    """Screen a stored run's rows again with its parameters (stored as a new run) and compare.

    Exit code 0 when every row has the same hits and scores, 1 when any differs."""
    from listwatch.screening.batches import rerun

    settings: Settings = ctx.obj
    result = rerun(_store(ctx), run, analyst=settings.who(analyst))
    if as_json:
        _print_json(result.to_dict())
    else:
        basis = "the same list versions" if result.same_basis else "list versions that changed since"
        out.print(f"{result.run.label} repeats {result.original.label} on {basis}.")
        for snap in result.snapshots_added:
            out.print(f"  new snapshot: {snap.list_id} #{snap.snapshot_id} published {snap.published}")
        for snap in result.snapshots_removed:
            out.print(f"  no longer used: {snap.list_id} #{snap.snapshot_id} published {snap.published}")
        if result.identical:
            out.print(f"[green]identical:[/] {len(result.run.rows):,} rows, {len(result.run.hits):,} hits")
        for line in result.differences[:20]:
            out.print(f"  [yellow]{line}[/]", highlight=False)
    if not result.identical:
        err.print(f"{len(result.differences):,} row(s) differ from {result.original.label}")
        raise typer.Exit(1)


@app.command()
def review(
    ctx: typer.Context,
    run: RunArgument,
    hit: Annotated[
        str, typer.Argument(metavar="HIT", help="The hit's number in `runs show`, or ROW:ENTITY_ID.")
    ],
    true_match: Annotated[bool, typer.Option("--true-match", help="The party is the listed entity.")] = False,
    false_positive: Annotated[
        bool, typer.Option("--false-positive", help="The party is not the listed entity.")
    ] = False,
    comment: Annotated[str | None, typer.Option("--comment", help="Why (required).")] = None,
    analyst: AnalystOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Record a decision on a hit. Later runs show the hit as dismissed (false positive) or confirmed,
    until the listed entity's record changes."""
    from listwatch.screening.reviews import record_review

    if true_match == false_positive:
        raise InvalidQuery("give exactly one of --true-match and --false-positive")
    settings: Settings = ctx.obj
    saved = record_review(
        _store(ctx),
        run,
        hit,
        decision="true_match" if true_match else "false_positive",
        comment=comment or "",
        analyst=settings.who(analyst),
    )
    if as_json:
        _print_json(saved.to_dict())
        return
    out.print(
        f"review #{saved.review_id}: {saved.run} row {saved.row_number} vs {saved.entity_id} is a "
        f"{saved.decision.replace('_', ' ')} ({saved.analyst}, {saved.reviewed_at:%Y-%m-%d %H:%M} UTC)",
        highlight=False,
    )


@reviews_app.command("export")
def reviews_export(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="reviews.csv or .json (default: CSV on standard output)."),
    ] = None,
) -> None:
    """Export every review ever made (the full history, oldest first)."""
    from listwatch.screening.reviews import export_wants_json, list_reviews, write_reviews

    as_json = export_wants_json(output) if output is not None else False
    found = list_reviews(_store(ctx))
    if output is None:
        write_reviews(found, sys.stdout)
        return
    partial = output.with_name(output.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        write_reviews(found, handle, as_json=as_json)
    partial.replace(output)
    err.print(f"wrote {len(found):,} reviews to {output}")


@app.command()
def certificate(
    ctx: typer.Context,
    run: RunArgument,
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the certificate here (default: standard output)."),
    ] = None,
) -> None:
    """Write a signed certificate of a run: input and its SHA-256, list snapshots, parameters, outcome.

    Signed with an Ed25519 key kept in $LISTWATCH_KEY_DIR (default: the user config folder), made on
    first use; its public half, signing-key.pub.pem, is what verifiers need."""
    from listwatch.screening.certificates import issue_certificate, write_certificate

    settings: Settings = ctx.obj
    key_dir = settings.signing_key_dir()
    signed = issue_certificate(_store(ctx), run, key_dir=key_dir)
    if output is None:
        sys.stdout.write(json.dumps(signed, ensure_ascii=False, indent=1) + "\n")
        return
    write_certificate(signed, output)
    err.print(
        f"wrote {output}: {signed['payload']['outcome']}; signed by {signed['signature']['key_fingerprint']} "
        f"(public key: {key_dir / 'signing-key.pub.pem'})",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def verify(
    certificate_file: Annotated[Path, typer.Argument(metavar="CERT", help="A certificate file.")],
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="The signer's signing-key.pub.pem: also check who signed."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a certificate's signature: exit 0 and `valid`, or exit 1 and why not."""
    from listwatch.screening.certificates import verify_certificate

    checked = verify_certificate(certificate_file, public_key=public_key)
    if as_json:
        _print_json(checked.to_dict())
        return
    signer = "the given public key" if checked.pinned else "its embedded key (pass --public-key to check who)"
    out.print(
        f"[green]valid[/]: {checked.run} issued {checked.issued_at}, signed by {checked.key_fingerprint}, "
        f"checked against {signer}; outcome: {checked.outcome}",
        highlight=False,
        soft_wrap=True,
    )


# -- monitoring

watch_app = typer.Typer(
    help="Watched files: screened again after every ingest, with alerts for what changed.",
    no_args_is_help=True,
)
alerts_app = typer.Typer(help="Alerts raised by watches: list them, acknowledge them.")
app.add_typer(watch_app, name="watch")
app.add_typer(alerts_app, name="alerts")

_ALERT_STYLE = {
    "new_hit": "bold red",
    "hit_changed": "yellow",
    "cleared_hit": "green",
    "effect_pending": "yellow",
    "effect_started": "bold red",
    "effect_suspended": "cyan",
    "effect_changed": "yellow",
    "effect_ended": "green",
    "file_changed": "dim",
    "watch_failed": "bold magenta",
}


@watch_app.command("add")
def watch_add(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Counterparties (.csv, .tsv, .xlsx, .parquet) or holdings.")],
    name: Annotated[str, typer.Option("--name", help="The watch's name (letters, digits, . _ -).")],
    portfolio: Annotated[
        bool, typer.Option("--portfolio", help="FILE is holdings, matched as `listwatch portfolio` does.")
    ] = False,
    list_ids: ScreenLists = None,
    threshold: Annotated[float | None, typer.Option(help="Score from which a hit is a match.")] = None,
    webhook: Annotated[
        str | None,
        typer.Option("--webhook", help="POST new alerts as JSON to this URL, or to the URL in env:NAME."),
    ] = None,
    as_of: Annotated[
        str, typer.Option("--as-of", help="Screen as of: today, latest (newest stored list date) or a DATE.")
    ] = "today",
    name_column: Annotated[
        str | None, typer.Option("--name-column", help="Counterparties: name column.")
    ] = None,
    id_columns: Annotated[
        list[str] | None, typer.Option("--id-columns", help="Counterparties: `isin` or `column=isin`.")
    ] = None,
    key_column: Annotated[
        str | None,
        typer.Option("--key-column", help="Counterparties: your own row id (keeps alerts stable)."),
    ] = None,
    country_column: Annotated[
        str | None, typer.Option("--country-column", help="Counterparties: column with a country.")
    ] = None,
    schema: Annotated[str, typer.Option(help="Counterparties: schema of every row.")] = "LegalEntity",
    analyst: AnalystOption = None,
) -> None:
    """Register a file for monitoring, and evaluate it now: its current hits are the first alerts."""
    from listwatch.matching.score import DEFAULT_THRESHOLD
    from listwatch.screening.monitoring import WatchOptions, add_watch, evaluate_watches

    options = WatchOptions(
        as_of=as_of.strip().lower(),
        lists=tuple(list_ids) if list_ids else None,
        threshold=threshold or DEFAULT_THRESHOLD,
        name_column=name_column,
        id_columns=tuple(id_columns or ()),
        key_column=key_column,
        country_column=country_column,
        schema=schema,
    )
    settings: Settings = ctx.obj
    store = _store(ctx)
    kind = "portfolio" if portfolio else "counterparties"
    watch = add_watch(
        store, file, name=name, kind=kind, options=options, webhook=webhook, created_by=settings.who(analyst)
    )
    out.print(f"watch [bold]{watch.name}[/]: {watch.kind} in {watch.path}, as of {options.as_of}")
    _report_monitoring(store, evaluate_watches(store, names=[watch.name]), names=[watch.name])


@watch_app.command("list")
def watch_list(
    ctx: typer.Context,
    removed: Annotated[bool, typer.Option("--removed", help="Also show removed watches.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show the watches, their last evaluation and webhook delivery (webhook secrets masked)."""
    from listwatch.screening.monitoring import list_watches

    found = list_watches(_store(ctx), include_removed=removed)
    if as_json:
        _print_json([w.to_dict() for w in found])
        return
    if not found:
        out.print("No watches yet. Start with `listwatch watch add FILE --name NAME`.")
        return
    table = Table("watch", "file", "as of", "lists", "last evaluated (UTC)", "webhook")
    for w in found:
        status = f"[bold red]failed: {w.last_error}[/]" if w.last_error else ""
        last = w.last_evaluated_at.strftime("%Y-%m-%d %H:%M:%S") if w.last_evaluated_at else "never"
        table.add_row(
            f"{w.name}\n[dim]{w.kind}{'' if w.active else ', removed'}[/]",
            str(w.path),
            w.options.as_of + (f"\n[dim]last: {w.last_as_of}[/]" if w.last_as_of else ""),
            ", ".join(w.options.lists) if w.options.lists else "all",
            "\n".join(filter(None, [last, status])),
            "\n".join(filter(None, [w.webhook or "", w.last_delivery or ""])),
        )
    out.print(table)


@watch_app.command("remove")
def watch_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The watch's name.")]) -> None:
    """Stop watching a file. Its alerts are kept; the name can be used again."""
    from listwatch.screening.monitoring import remove_watch

    watch = remove_watch(_store(ctx), name)
    out.print(f"watch {watch.name} removed ({watch.path}); its alerts are kept")


@watch_app.command("run")
def watch_run(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Watches to evaluate (default: all).")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluate as of this DATE instead of each watch's own.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Evaluate watches now, as an ingest does; exit code 1 when one of them failed."""
    from listwatch.screening.monitoring import evaluate_watches

    store = _store(ctx)
    raised = evaluate_watches(store, as_of=parse_day(as_of, "--as-of"), names=names or None)
    failed = _report_monitoring(store, raised, names=names or None, as_json=as_json)
    if failed:
        raise typer.Exit(1)


def _report_monitoring(
    store: Any,
    raised: list[Any],
    *,
    names: list[str] | None = None,
    as_json: bool = False,
    table: bool = True,
) -> int:
    """Post due webhooks, then print the new alerts (unless not `table`) and a one-line summary on
    standard error; how many watches failed."""
    from listwatch.screening.monitoring import list_watches
    from listwatch.screening.webhooks import deliver_webhooks

    delivery = deliver_webhooks(store)
    failed = [w for w in list_watches(store) if w.last_error and (names is None or w.name in names)]
    if as_json:
        _print_json({"alerts": [a.to_dict() for a in raised], "webhooks": delivery.to_dict()})
    elif raised and table:
        _print_alerts(raised)
    err.print(_monitoring_summary(raised, delivery), highlight=False)
    for watch in failed:
        err.print(
            f"[yellow]warning:[/] watch {watch.name} not evaluated: {watch.last_error}", highlight=False
        )
    for line in delivery.errors[:10]:
        err.print(f"[yellow]warning:[/] {line}", highlight=False)
    return len(failed)


def _monitoring_summary(raised: list[Any], delivery: Any) -> str:
    from collections import Counter

    counts = Counter(a.kind for a in raised if not a.acknowledged)
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    text = f"monitoring: {sum(counts.values())} new alert(s)" + (f" ({kinds})" if kinds else "")
    dismissed = sum(1 for a in raised if a.acknowledged)
    if dismissed:
        text += f", {dismissed} on hits reviewed as false positives (acknowledged)"
    if delivery.delivered or delivery.retrying or delivery.failed:
        text += f"; webhooks: {delivery.delivered} delivered, {delivery.retrying} to retry, {delivery.failed} failed"
    return text + ("; see `listwatch alerts`" if counts else "")


def _monitor_after_ingest(store: Any) -> None:
    """Evaluate the watches after an ingest that stored something. The ingest is committed by
    now: whatever goes wrong here is a warning, never a failed ingest."""
    from listwatch.screening.monitoring import evaluate_watches, list_watches

    try:
        if list_watches(store):
            _report_monitoring(store, evaluate_watches(store), table=False)
    except Exception as exc:  # noqa: BLE001 - the ingest is stored; monitoring must not turn it into a failure
        err.print(
            f"[yellow]warning:[/] monitoring did not run: {exc.__class__.__name__}: {exc}", highlight=False
        )


def _print_alerts(found: list[Any]) -> None:
    table = Table("alert", "watch", "as of", "kind", "detail")
    for a in found:
        style = _ALERT_STYLE.get(a.kind, "")
        ack = f"\n[dim]ack {a.acknowledged_by}[/]" if a.acknowledged else ""
        table.add_row(str(a.alert_id), a.watch, a.as_of.isoformat(), f"[{style}]{a.kind}[/]{ack}", a.detail)
    out.print(table)


@alerts_app.callback(invoke_without_command=True)
def alerts_command(
    ctx: typer.Context,
    watch: Annotated[str | None, typer.Option("--watch", help="Only this watch's alerts.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only alerts raised on or after DATE (UTC).")
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Include acknowledged alerts.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List the alerts not yet acknowledged (oldest first)."""
    if ctx.invoked_subcommand is not None:
        return
    from listwatch.screening.monitoring import list_alerts

    found = list_alerts(
        _store(ctx), watch=watch, since=parse_day(since, "--since"), include_acknowledged=show_all
    )
    if as_json:
        _print_json([a.to_dict() for a in found])
        return
    if not found:
        out.print("No alerts" + ("." if show_all else " to acknowledge (--all shows every alert)."))
        return
    _print_alerts(found)


@alerts_app.command("ack")
def alerts_ack(
    ctx: typer.Context,
    ids: Annotated[
        list[int], typer.Argument(metavar="ID", help="Alert ids, as `listwatch alerts` shows them.")
    ],
    analyst: AnalystOption = None,
) -> None:
    """Acknowledge alerts (all or none): they no longer show without --all."""
    from listwatch.screening.monitoring import acknowledge_alerts

    settings: Settings = ctx.obj
    done = acknowledge_alerts(_store(ctx), ids, analyst=settings.who(analyst))
    out.print(f"acknowledged {len(done)} alert(s) ({settings.who(analyst)})")


# -- formats


def _print_ingest(item: Any) -> None:
    if not item.created:
        out.print(
            f"[yellow]unchanged:[/] the same content is already snapshot #{item.snapshot_id} of "
            f"{item.list_id} (published {item.published}); nothing was written."
        )
        return
    guessed = " (date taken from the path)" if item.published_from == "path" else ""
    changes = ", ".join(f"{n:,} {kind}" for kind, n in sorted(item.events.items())) or "no changes"
    out.print(
        f"[green]snapshot #{item.snapshot_id}[/] of [bold]{item.list_id}[/]: "
        f"{item.record_count:,} records, published {item.published}{guessed}, "
        f"format {item.format}; {changes}"
    )
    for warning in item.warnings[:10]:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if len(item.warnings) > 10:
        err.print(f"[yellow]warning:[/] ... and {len(item.warnings) - 10} more (see --json)")


@app.command()
def show(
    ctx: typer.Context,
    query: Annotated[
        str, typer.Argument(help="A name, scheme:value (isin:..., other:QDi.410) or entity id.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Print an entity's newest record as its list publishes it, unknown columns and elements included."""
    from listwatch.registry.history import entity_history

    found = entity_history(_store(ctx), query)
    if as_json:
        _print_json([{"id": h.entity_id, "list": h.list_id, "record": h.record} for h in found])
        return
    for item in found:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for key, value in item.record.items():
            if key == "properties":
                for name, values in value.items():
                    style = "yellow" if name.startswith("unknown:") else ""
                    text = "; ".join(map(str, values))
                    grid.add_row(name, f"[{style}]{text}[/]" if style else text)
            elif value not in (None, [], (), {}):
                grid.add_row(
                    key,
                    json.dumps(value, ensure_ascii=False, default=str)
                    if not isinstance(value, str)
                    else value,
                )
        out.print(f"\n[bold]{item.caption}[/] [dim]{item.entity_id}[/] · {item.list_id}")
        out.print(grid)


# -- market impact


def _impact_options(
    model: str,
    returns: str,
    estimation: str,
    estimation_end: str | None,
    event_window: str,
    windows: str,
    after_close: bool,
    date_rule: str,
    same_firm: str,
    bmp_sigma: str,
    kp_alignment: str,
    min_estimation: int,
) -> Any:
    from listwatch.impact.models import model_named
    from listwatch.impact.options import StudyOptions, parse_window, parse_windows
    from listwatch.impact.stats import Conventions

    model_named(model)
    choices = {
        "--returns": (returns, ("simple", "log")),
        "--date-rule": (date_rule, ("next", "previous")),
        "--same-firm": (same_firm, ("shift", "keep")),
        "--bmp-sigma": (bmp_sigma, ("model", "fec")),
        "--kp-alignment": (kp_alignment, ("event_time", "calendar")),
    }
    for option, (value, allowed) in choices.items():
        if value not in allowed:
            raise InvalidQuery(f"{option}: {value!r}; use one of {', '.join(allowed)}")
    chosen: dict[str, Any] = {"returns": returns, "date_rule": date_rule, "same_firm": same_firm}
    conventions: dict[str, Any] = {"bmp_sigma": bmp_sigma, "kp_alignment": kp_alignment}
    return StudyOptions(
        model=model,
        estimation=parse_window(estimation, "--estimation"),
        estimation_end=parse_day(estimation_end, "--estimation-end"),
        event_window=parse_window(event_window, "--event-window"),
        windows=parse_windows(windows),
        after_close=after_close,
        min_estimation=min_estimation,
        conventions=Conventions(**conventions),
        **chosen,
    )


@app.command()
def impact(
    ctx: typer.Context,
    events_file: Annotated[
        Path | None, typer.Argument(help="Events CSV (date, security[, label, market]); or use --list.")
    ] = None,
    list_id: Annotated[
        str | None, typer.Option("--list", help="Study the events of this stored list.")
    ] = None,
    actions: Annotated[
        list[str] | None,
        typer.Option("--action", help="Only these events: listed, enjoined... (repeatable)."),
    ] = None,
    entity: Annotated[
        str | None, typer.Option("--entity", help="Only this entity's events (name, id, isin:...).")
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Events on or after YYYY-MM-DD.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Events on or before YYYY-MM-DD.")] = None,
    prices: Annotated[
        list[Path] | None,
        typer.Option("--prices", help="Price files or folders (repeatable); see docs/impact.md."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--map", help="CSV linking entities (id, name, isin:...) to price files or tickers."),
    ] = None,
    market: Annotated[
        list[str] | None,
        typer.Option("--market", help="Market index prices: FILE, or MARKET=FILE (HK=HSI.csv)."),
    ] = None,
    factors: Annotated[
        Path | None, typer.Option("--factors", help="Fama-French/Carhart factor file.")
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help="mean, market-adjusted, market, ff3, ff5, carhart, bhar or raw.")
    ] = "market",
    returns: Annotated[str, typer.Option("--returns", help="simple or log returns.")] = "simple",
    estimation: Annotated[
        str, typer.Option("--estimation", help="Estimation window in event days.")
    ] = "[-260,-11]",
    estimation_end: Annotated[
        str | None, typer.Option("--estimation-end", help="Estimation windows end before YYYY-MM-DD.")
    ] = None,
    event_window: Annotated[str, typer.Option("--event-window", help="Days shown one by one.")] = "[-10,10]",
    windows: Annotated[str, typer.Option("--windows", help="CAR windows.")] = "[0,0] [-1,1] [0,5] [-10,10]",
    after_close: Annotated[
        bool,
        typer.Option("--after-close", help="Announced after the market's close: day 0 is the next session."),
    ] = False,
    date_rule: Annotated[
        str, typer.Option("--date-rule", help="next (first session at or after) or previous.")
    ] = "next",
    same_firm: Annotated[
        str,
        typer.Option(
            "--same-firm", help="shift: estimation windows clear of the security's other events; keep."
        ),
    ] = "shift",
    bmp_sigma: Annotated[
        str, typer.Option("--bmp-sigma", help="BMP standardises by model or fec sigma.")
    ] = "model",
    kp_alignment: Annotated[
        str, typer.Option("--kp-alignment", help="Kolari-Pynnönen correlation by event_time or calendar.")
    ] = "event_time",
    min_estimation: Annotated[int, typer.Option("--min-estimation", help="Fewest estimation returns.")] = 60,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write report.html, .csv or .json.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Also draw the CAR chart to car.png or .svg.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Event study of list events: abnormal returns around each event and their significance."""
    from listwatch.impact.plots import car_chart, plot_format
    from listwatch.impact.report import output_format, write_study
    from listwatch.impact.runner import study_from_files

    options = _impact_options(
        model,
        returns,
        estimation,
        estimation_end,
        event_window,
        windows,
        after_close,
        date_rule,
        same_firm,
        bmp_sigma,
        kp_alignment,
        min_estimation,
    )
    for path, check in ((output, output_format), (plot, plot_format)):
        if path is not None:
            check(path)
    result = study_from_files(
        store=lambda: _store(ctx),
        events_file=events_file,
        list_id=list_id,
        actions=actions or (),
        entity=entity,
        start=parse_day(from_, "--from"),
        end=parse_day(to, "--to"),
        prices=prices or [],
        mapping=mapping,
        markets=market or [],
        factors=factors,
        options=options,
    )
    for path, write in ((output, write_study), (plot, lambda r, p: car_chart(r, path=p))):
        if path is not None:
            write(result, path)
            err.print(f"wrote {path}")
    if as_json:
        _print_json(result.to_dict())
        return
    _print_impact(result)


def _print_impact(result: Any) -> None:
    from rich.markup import escape

    data = result.to_dict()
    out.print(
        f"[bold]{escape(result.title)}[/]: {data['model']}; {data['valid_events']} of {data['events']} events used"
    )
    events = Table(
        "entity / security", "event", "date", "day 0", "AR day 0", "t", *result.window_labels, "problems"
    )
    for ev in data["event_results"]:
        problems = "\n".join(
            f"[{'red' if i['severity'] == 'invalid' else 'dim'}]{escape(i['message'])}[/]"
            for i in ev["issues"]
        )
        cells = ["", "", ""] + [""] * len(result.window_labels)
        if ev["valid"]:
            cells = [str(ev["day0"]), f"{ev['ar_day0'] * 100:+.2f}%", f"{ev['ar_t_day0']:.2f}"] + [
                f"{w['car'] * 100:+.2f}% ({w['t']:.2f})" if w["car"] is not None else ""
                for w in ev["windows"]
            ]
        label = escape(ev["name"] or ev["security"] or "") + (
            f"\n[dim]{escape(ev['symbol'])}[/]" if ev["symbol"] else ""
        )
        events.add_row(label, ev["label"], ev["date"], *cells, problems)
    out.print(events)
    for title, rows in (("CAR windows", data["windows"]), ("event days", data["days"])):
        names = list(rows[0]["tests"]) if rows else []
        table = Table(title.removesuffix("s"), "N", "mean", *names, title=title)
        for row in rows:
            stats = [
                f"[red]{t['statistic']:.2f}{t['mark']}[/]"
                if t["mark"]
                else f"{t['statistic']:.2f}"
                if t["statistic"] is not None
                else "[dim]n/a[/]"
                for t in row["tests"].values()
            ]
            mean = f"{row['caar'] * 100:+.2f}%" if row["caar"] is not None else ""
            table.add_row(row["label"], str(row["n"]), mean, *stats)
        out.print(table)
    out.print(
        "[dim]*** p < 0.01, ** p < 0.05, * p < 0.10 (two-sided); n/a: see --json for why; docs/impact.md[/]"
    )


# -- the HTTP API ---------------------------------------------------------------------------------

keys_app = typer.Typer(help="API keys for `listwatch serve`: create, list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (they share the store and index cache).")
    ] = 1,
    open_read: Annotated[
        bool,
        typer.Option(
            "--open-read", envvar="LISTWATCH_OPEN_READ", help="Let requests without a key read (as viewers)."
        ),
    ] = False,
    rate_limit: Annotated[
        int,
        typer.Option(
            "--rate-limit", envvar="LISTWATCH_RATE_LIMIT", help="Requests a minute per key; 0 for no limit."
        ),
    ] = 600,
    reload_every: Annotated[
        float, typer.Option("--reload-every", help="Seconds between checks for newly ingested snapshots.")
    ] = 2.0,
) -> None:
    """Serve the HTTP API (yente-compatible /match) and the web UI on the store."""
    from listwatch.api.options import ApiOptions
    from listwatch.api.server import serve as run_server

    options = ApiOptions(open_read=open_read, rate_per_minute=rate_limit, reload_every_s=reload_every)
    run_server(ctx.obj, options, host=host, port=port, workers=workers)


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for the key (who or what uses it).")],
    role: Annotated[
        str, typer.Option(help="viewer (read), analyst (also screen, review), admin (also ingest, keys).")
    ] = "viewer",
    as_json: JsonFlag = False,
) -> None:
    """Create an API key; its secret is printed once and only its hash is stored."""
    from listwatch.api.keys import create_key

    created = create_key(_store(ctx), name, role=role, created_by=ctx.obj.who())
    if as_json:
        _print_json(created.to_dict())
        return
    out.print(f"created key {name!r} ({role}); the secret is shown only now:")
    out.print(created.secret, highlight=False, soft_wrap=True)


@keys_app.command("list")
def keys_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the API keys (never their secrets)."""
    from listwatch.api.keys import list_keys

    found = list_keys(_store(ctx))
    if as_json:
        _print_json([k.to_dict() for k in found])
        return
    table = Table("name", "role", "prefix", "created", "by", "last used", "revoked")
    for k in found:
        table.add_row(
            k.name,
            k.role,
            k.prefix + "...",
            k.created_at.strftime("%Y-%m-%d %H:%M"),
            k.created_by,
            k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "",
            k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke an API key: requests with it are refused from now on."""
    from listwatch.api.keys import revoke_key

    revoke_key(_store(ctx), name)
    out.print(f"revoked key {name!r}")
