"""``{cli-help}``: the command line's help, printed by its own parser (``ceimb_utils.__main__``)
for ``ceimb`` and each of its commands, so the API page shows what ``ceimb run --help`` shows."""
from __future__ import annotations

import argparse
import os

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

COLUMNS = "80"  # argparse wraps at the terminal's width; the page's code column holds 80


def helps() -> list[tuple[str, str]]:
    """(command, help text) for ``ceimb`` and each command, in the parser's order."""
    from ceimb_utils.__main__ import build_parser

    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = COLUMNS
    try:
        parser = build_parser()
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
        return [("ceimb", parser.format_help())] + [(f"ceimb {name}", sub.format_help())
                                                     for name, sub in commands.items()]
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


class CliHelp(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        out = []
        for command, text in helps():
            title = nodes.rubric(text=command)
            title["ids"].append(nodes.make_id(f"cli-{command}"))
            out += [title, nodes.literal_block(text, text, language="text")]
        return out


def setup(app):
    app.add_directive("cli-help", CliHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
