"""Plain-text tables that fit the terminal, with every cell sanitised and severities coloured on a TTY.

Every table of every command is drawn by ``table()``: cells pass through the one
sanitiser, the wrappable columns (details, sources, vendors) are wrapped until the
table fits ``RenderOptions.width``, and colour is added last, only when asked.
"""

from __future__ import annotations

import textwrap
from typing import Iterable, Sequence

from tabulate import MIN_PADDING, tabulate

from ipaudit.report.interface import RenderOptions
from ipaudit.sanitize import clean

GAP = 2  # tabulate's "simple" format puts two spaces between columns
NARROWEST = 12  # a wrapped column is never squeezed below this, whatever the terminal says
COLOURS = {"CRITICAL": "1;31", "WARNING": "33", "INFO": "36", "OK": "32", "UNKNOWN": "35"}


def paint(text: str, options: RenderOptions) -> str:
    """``text`` in its severity's colour when colour is on (``text`` is a severity or status word)."""
    code = COLOURS.get(text)
    return f"\x1b[{code}m{text}\x1b[0m" if options.color and code else text


def wrap(text: str, width: int) -> str:
    """Wrap each line of ``text`` to ``width``, never breaking at the dashes inside addresses."""
    lines = []
    for line in text.split("\n"):
        lines.extend(textwrap.wrap(line, max(width, 1), break_on_hyphens=False) or [""])
    return "\n".join(lines)


def _natural(column: Iterable[str]) -> int:
    return max((len(line) for cell in column for line in cell.split("\n")), default=0)


def _widths(headers: Sequence[str], rows: list[list[str]], width: int, wrappable: set[int]) -> dict[int, int]:
    """How wide each wrappable column may be so that the whole table fits ``width``."""
    # tabulate pads every header by MIN_PADDING, so a column is never narrower than that.
    natural = [max(len(h) + MIN_PADDING, _natural(row[i] for row in rows)) for i, h in enumerate(headers)]
    fixed = sum(w for i, w in enumerate(natural) if i not in wrappable) + GAP * (len(headers) - 1)
    room = max(width - fixed, NARROWEST * max(len(wrappable), 1))
    limits: dict[int, int] = {}
    # Narrow columns keep their natural width; the rest share what is left evenly.
    pending = sorted(wrappable, key=lambda i: natural[i])
    while pending:
        share = room // len(pending)
        index = pending.pop(0)
        limits[index] = max(min(natural[index], share), min(NARROWEST, natural[index]))
        room -= limits[index]
    return limits


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], options: RenderOptions,
          wrappable: Iterable[int] = (), painted: Iterable[int] = ()) -> str:
    """A "simple" table no wider than ``options.width`` (when its fixed columns allow it).

    ``wrappable`` columns are wrapped to fit; ``painted`` columns hold severity words to colour.
    """
    cells = [[clean("" if cell is None else cell) for cell in row] for row in rows]
    limits = _widths(headers, cells, options.width, set(wrappable))
    for row in cells:
        for index, limit in limits.items():
            row[index] = wrap(row[index], limit)
        for index in painted:
            row[index] = paint(row[index], options)
    return tabulate(cells, headers=list(headers), tablefmt="simple", disable_numparse=True)


def paragraph(text: str, options: RenderOptions, indent: str = "") -> str:
    """Outside text as a wrapped, sanitised paragraph (notes, the LAN line)."""
    width = max(options.width - len(indent), NARROWEST)
    return textwrap.indent(wrap(clean(text), width), indent)


def bullets(title: str, items: Iterable[str], options: RenderOptions) -> str:
    """``title:`` then one wrapped, sanitised ``  - item`` per item."""
    width = max(options.width - 4, NARROWEST)
    lines = [f"{title}:"]
    for item in items:
        wrapped = wrap(clean(item), width).split("\n")
        lines.append("  - " + wrapped[0])
        lines.extend("    " + line for line in wrapped[1:])
    return "\n".join(lines)
