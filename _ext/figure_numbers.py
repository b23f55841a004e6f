"""Figure numbers that restart on every page: "Figure 1" is the first figure of the page it is on.

Sphinx numbers figures (and tables and code blocks with a caption) by section when the
table of contents is numbered; this book's is not (the methods page numbers its own sections),
so Sphinx would count every figure of the book in one sequence and a figure on a late page
would read "Figure 37". Each page of the book stands alone, a results page most of all, so
each page counts from 1. No page refers to another page's figure by number.
"""
from __future__ import annotations


def restart_per_page(app, env) -> list[str]:
    """After Sphinx has numbered the figures (``env-get-updated``), number them again per page,
    in the order Sphinx gave them (the page's order)."""
    for kinds in env.toc_fignumbers.values():
        for kind, numbers in kinds.items():
            in_order = sorted(numbers, key=numbers.get)
            kinds[kind] = {figure: (i,) for i, figure in enumerate(in_order, start=1)}
    return []


def setup(app):
    # after Sphinx's own numbering (priority 500), which it replaces
    app.connect("env-get-updated", restart_per_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
