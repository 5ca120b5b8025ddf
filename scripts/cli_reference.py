"""Print the CLI reference (every command's ``--help``) as Markdown, for cog in README.md.

Regenerate with ``make docs`` (``cog -r README.md``); ``make docs-check`` (run by the tests)
fails when the README is out of date.
"""

from __future__ import annotations

import click

from signals.cli import cli


def _commands(group: click.Group, prefix: list[str]) -> list[tuple[list[str], click.Command]]:
    found: list[tuple[list[str], click.Command]] = []
    for name in sorted(group.commands):
        command = group.commands[name]
        if command.hidden:
            continue
        path = [*prefix, name]
        found.append((path, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
    return found


def _help(path: list[str], command: click.Command, parent: click.Context) -> str:
    ctx = click.Context(
        command, info_name=path[-1], parent=parent, terminal_width=100, max_content_width=100
    )
    return command.get_help(ctx)


def reference() -> str:
    """The Markdown reference: the top-level help, then one block per command."""
    root = click.Context(cli, info_name="signals", terminal_width=100, max_content_width=100)
    out = ["```text", cli.get_help(root), "```", ""]
    for path, command in _commands(cli, []):
        parent = root
        for name in path[:-1]:
            parent = click.Context(cli.commands[name], info_name=name, parent=parent)
        out += [
            f"<details><summary><code>signals {' '.join(path)}</code></summary>",
            "",
            "```text",
            _help(path, command, parent),
            "```",
            "",
            "</details>",
            "",
        ]
    return "\n".join(out)


if __name__ == "__main__":
    print(reference())
