"""Generates docs/cli.md from the commands themselves, so the reference cannot drift from the code.

python -m listwatch.docs > docs/cli.md      (make docs)
"""

from __future__ import annotations

from typing import Any

import typer
import typer.core
import typer.main

from listwatch.cli import app

__all__ = ["cli_reference"]


_ENVIRONMENT = (
    "Environment: `LISTWATCH_DB` sets the database URL when `--db` is not given; `LISTWATCH_ANALYST`"
    " names who screens and reviews when `--analyst` is not given (default: the operating-system"
    " user); `LISTWATCH_KEY_DIR` is the folder of the certificate signing key (default: `keys` in"
    " the user config directory)."
)


def _is_option(param: Any) -> bool:
    return bool(param.param_type_name == "option" and param.name != "help")


def _option_row(param: Any) -> str:
    names = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
    help_text = getattr(param, "help", None) or ""
    if not param.is_flag and param.default not in (None, False, ()):
        help_text += f" Default: `{param.default}`."
    return f"| {names} | {help_text.strip()} |"


def _command_section(name: str, command: Any, parent: typer.Context) -> list[str]:
    ctx = typer.Context(command, info_name=name, parent=parent)
    del ctx
    usage = " ".join(
        ["[OPTIONS]"]
        + [
            f"{p.metavar or p.name.upper()}{'...' if p.nargs == -1 else ''}"
            for p in command.params
            if p.param_type_name == "argument"
        ]
    )
    lines = [
        f"## `listwatch {name}`",
        "",
        (command.help or "").strip(),
        "",
        "```console",
        f"listwatch {name} {usage}".rstrip(),
        "```",
        "",
    ]
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    options = [p for p in command.params if _is_option(p)]
    for param in arguments:
        lines.append(f"- `{(param.metavar or param.name.upper())}`: {getattr(param, 'help', '') or ''}")
    if arguments:
        lines.append("")
    if options:
        lines += ["| option | meaning |", "|---|---|", *(_option_row(p) for p in options), ""]
    return lines


def cli_reference() -> str:
    group: Any = typer.main.get_command(app)
    root = typer.Context(group, info_name="listwatch")
    lines = [
        "# Command-line reference",
        "",
        "Generated from the commands' own help by `make docs`; a test fails when it is stale.",
        "",
        (group.help or "").strip(),
        "",
        "Global options (before the command):",
        "",
        "| option | meaning |",
        "|---|---|",
    ]
    lines += [_option_row(p) for p in group.params if _is_option(p)]
    lines += ["", _ENVIRONMENT, ""]
    for name in group.list_commands(root):
        command = group.get_command(root, name)
        assert command is not None
        lines += _command_section(name, command, root)
        if isinstance(command, typer.core.TyperGroup):  # `runs show`, `reviews export`: one section each
            sub_root = typer.Context(command, info_name=name, parent=root)
            for sub_name in command.list_commands(sub_root):
                sub = command.get_command(sub_root, sub_name)
                assert sub is not None
                lines += _command_section(f"{name} {sub_name}", sub, sub_root)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(cli_reference(), end="")
