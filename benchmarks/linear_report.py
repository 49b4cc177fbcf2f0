"""Shared writer of the linear-MDP benchmark reports (``<name>.json`` and ``<name>.md`` in one folder)."""

from __future__ import annotations

import json
from pathlib import Path


def table(columns, rows) -> list:
    """Markdown table lines: ``columns`` is a list of ``(header, key, format)``; ``rows`` a list of dicts."""
    lines = ["| " + " | ".join(c[0] for c in columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(format(r[key], fmt) for _, key, fmt in columns) + " |")
    return lines


def write_report(out, name: str, payload: dict, lines: list) -> None:
    """Write ``payload`` as ``out/<name>.json`` and the markdown ``lines`` as ``out/<name>.md``; print the table."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(payload, indent=2))
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
