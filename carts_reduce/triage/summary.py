"""What a triage leaves to read: ``triage.json``, ``triage.md`` and a self-contained ``triage.html``.

One row per bug (stage, signature, inputs hit, original -> reduced size,
tests, time, corpus id, report), the inputs that did not fail, and a chart
of each reduction's size against the tests it ran, drawn by matplotlib from
the bug's JSON log as inline SVG: the page needs no network and no script.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carts_reduce.corpus.store import signature_summary
from carts_reduce.formats import unit_name
from carts_reduce.triage.bugs import Bug
from carts_reduce.triage.main import Triage

JSON_FILE, MARKDOWN_FILE, HTML_FILE = "triage.json", "triage.md", "triage.html"


@dataclass
class Row:
    """A bug as the summaries show it; every field plain text or numbers."""

    number: int
    status: str
    stage: str
    signature: str
    inputs: int
    representative: str
    duplicates: list[str]
    original: str
    reduced: str
    tests: int | None
    seconds: float | None
    corpus_id: str | None
    report: str | None  # relative to the triage folder
    reduced_file: str | None


def rows(triage: Triage, out: Path) -> list[Row]:
    return [_row(bug, out) for bug in triage.bugs]


def _row(bug: Bug, out: Path) -> Row:
    record = bug.record
    return Row(
        number=bug.number,
        status=bug.status,
        stage=bug.stage or "-",
        signature=signature_summary(bug.signature),
        inputs=len(bug.inputs),
        representative=bug.representative.path,
        duplicates=[finding.path for finding in bug.duplicates],
        original=_size(record.sizes_before, record.format) if record else f"{bug.representative.bytes:,} bytes",
        reduced=_size(record.sizes_after, record.format) if record else "-",
        tests=record.tests_run if record else None,
        seconds=record.wall_seconds if record else None,
        corpus_id=bug.corpus_id,
        report=_relative(bug.report, out),
        reduced_file=_relative(bug.reduced, out),
    )


def _size(sizes: dict[str, int], fmt: str) -> str:
    unit = unit_name(fmt)
    if unit and unit in sizes:
        return f"{sizes[unit]:,} {unit} ({sizes.get('bytes', 0):,} bytes)"
    return f"{sizes.get('bytes', 0):,} bytes"


def _relative(path: Path | None, out: Path) -> str | None:
    if path is None:
        return None
    try:
        return path.relative_to(out).as_posix()
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------
# triage.json


def write_json(triage: Triage, out: Path) -> Path:
    data = {
        "inputs": len(triage.inputs),
        "bugs": [row.__dict__ for row in rows(triage, out)],
        "passing": [{"path": f.path, "seen": f.description} for f in triage.passing],
        "executor": triage.executor,
        "capacity": triage.capacity,
        "tests": triage.tests,
        "wall_seconds": round(triage.wall_seconds, 3),
        "busy_seconds": round(triage.busy_seconds, 3),
    }
    path = out / JSON_FILE
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


# --------------------------------------------------------------------------
# triage.md


def _cell(text: Any) -> str:
    """Text for a Markdown table cell: no line breaks, and no pipe or backtick read as markup."""
    return re.sub(r"([\\`|*_<>\[\]])", r"\\\1", str(text).replace("\n", " "))


def write_markdown(triage: Triage, out: Path) -> Path:
    table = rows(triage, out)
    lines = [
        "# Triage",
        "",
        f"{len(triage.inputs)} inputs: {sum(r.inputs for r in table)} failing in {len(table)} distinct "
        f"{'bug' if len(table) == 1 else 'bugs'}, {len(triage.passing)} not failing. "
        f"Tests ran on {triage.executor} ({triage.capacity} at once).",
        "",
        "| bug | stage | signature | inputs | original -> reduced | tests | time | corpus | report |",
        "|---|---|---|---:|---|---:|---:|---|---|",
    ]
    for row in table:
        reduced = f"{row.original} -> {row.reduced}" if row.reduced_file else f"{row.original} ({row.status})"
        lines.append("| " + " | ".join([
            f"bug-{row.number}", f"`{row.stage}`", _cell(row.signature), str(row.inputs), _cell(reduced),
            f"{row.tests:,}" if row.tests is not None else "-",
            f"{row.seconds:.1f} s" if row.seconds is not None else "-",
            f"`{row.corpus_id}`" if row.corpus_id else "-",
            f"[report]({row.report})" if row.report else "-",
        ]) + " |")
    for row in table:
        lines += ["", f"## bug-{row.number}", "", f"- representative (reduced): `{row.representative}`"]
        if row.reduced_file:
            lines.append(f"- reduced input: [{row.reduced_file}]({row.reduced_file})")
        lines += [f"- duplicate: `{path}`" for path in row.duplicates]
    lines += ["", "## Inputs that did not fail", ""]
    lines += [f"- `{f.path}`: {_cell(f.description)}" for f in triage.passing] or ["(none)"]
    path = out / MARKDOWN_FILE
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------
# triage.html


def size_curve(log: Path | None) -> list[tuple[int, int]]:
    """(tests run, bytes of the best candidate) at the start and after each acceptance."""
    if log is None or not log.exists():
        return []
    points: list[tuple[int, int]] = []
    tests = 0
    for line in log.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        if event.get("event") == "test":
            tests = max(tests, int(event.get("test", 0)))
            if event.get("pass") == "original" and not points:
                points.append((0, int(event["bytes"])))
        elif event.get("event") == "accept":
            points.append((tests, int(event["bytes"])))
    if points:
        points.append((tests, points[-1][1]))
    return points


def size_chart(bugs: list[Bug]) -> str:
    """An inline SVG of each reduction's size against tests run (empty when nothing was logged)."""
    import matplotlib
    from matplotlib.figure import Figure

    curves = [(bug, size_curve(bug.log)) for bug in bugs]
    curves = [(bug, points) for bug, points in curves if points]
    if not curves:
        return ""
    with matplotlib.rc_context({"svg.hashsalt": "carts-reduce", "svg.fonttype": "none", "font.size": 9}):
        figure = Figure(figsize=(6.4, 3.2), layout="constrained")
        axes = figure.subplots()
        for bug, points in curves:
            axes.step([x for x, _ in points], [y for _, y in points], where="post", label=bug.name, linewidth=1.5)
        axes.set_yscale("log")
        axes.set_xlabel("tests run")
        axes.set_ylabel("bytes of the best candidate")
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(frameon=False)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; }
code { font-size: 0.95em; }
.note { color: #666; }
"""


def write_html(triage: Triage, out: Path) -> Path:
    from jinja2 import Environment

    environment = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    page = environment.from_string(_PAGE).render(
        triage=triage, rows=rows(triage, out), style=STYLE, chart=_markup(size_chart(triage.bugs)),
    )
    path = out / HTML_FILE
    path.write_text(page)
    return path


def _markup(svg: str):
    from markupsafe import Markup

    return Markup(svg)  # matplotlib's own SVG, not text from the inputs


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>carts-reduce triage</title>
<style>{{ style }}</style>
</head>
<body>
<h1>Triage</h1>
<p>{{ triage.inputs | length }} inputs: {{ rows | sum(attribute="inputs") }} failing in {{ rows | length }}
distinct {{ "bug" if rows | length == 1 else "bugs" }}, {{ triage.passing | length }} not failing.
Tests ran on {{ triage.executor }} ({{ triage.capacity }} at once).</p>
<table id="bugs">
<thead><tr><th>bug</th><th>stage</th><th>signature</th><th>inputs</th><th>original &rarr; reduced</th>
<th>tests</th><th>time</th><th>corpus</th><th>report</th></tr></thead>
<tbody>
{% for row in rows %}
<tr class="bug" id="bug-{{ row.number }}">
<td>bug-{{ row.number }}</td>
<td><code>{{ row.stage }}</code></td>
<td>{{ row.signature }}</td>
<td class="num"><details><summary>{{ row.inputs }}</summary>
<div><code>{{ row.representative }}</code> (reduced)</div>
{% for path in row.duplicates %}<div><code>{{ path }}</code></div>{% endfor %}
</details></td>
<td>{{ row.original }} &rarr; {% if row.reduced_file %}<a href="{{ row.reduced_file }}">{{ row.reduced }}</a>{% else %}<span class="note">{{ row.status }}</span>{% endif %}</td>
<td class="num">{{ "{:,}".format(row.tests) if row.tests is not none else "-" }}</td>
<td class="num">{{ "%.1f s" | format(row.seconds) if row.seconds is not none else "-" }}</td>
<td>{% if row.corpus_id %}<code>{{ row.corpus_id }}</code>{% else %}-{% endif %}</td>
<td>{% if row.report %}<a href="{{ row.report }}">report</a>{% else %}-{% endif %}</td>
</tr>
{% endfor %}
</tbody>
</table>
{% if chart %}
<h2>Size against tests</h2>
<figure id="chart">{{ chart }}</figure>
{% endif %}
<h2>Inputs that did not fail</h2>
<table id="passing">
<thead><tr><th>input</th><th>what the test showed</th></tr></thead>
<tbody>
{% for finding in triage.passing %}
<tr class="passing"><td><code>{{ finding.path }}</code></td><td>{{ finding.description }}</td></tr>
{% else %}
<tr><td colspan="2" class="note">none</td></tr>
{% endfor %}
</tbody>
</table>
</body>
</html>
"""


def write_all(triage: Triage, out: Path) -> list[Path]:
    return [write_json(triage, out), write_markdown(triage, out), write_html(triage, out)]

