# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keyless audit's report renderers: counts, the fail_on gate, Markdown and one self-contained HTML page.

A finding is a dict ``{type, severity, resource_id, subject: {kind, name}, summary, why, fix, evidence}``; the report
holds the findings, their summary, the catalogue of types (display order, titles, why) and what was read. Pure
functions, standard library only: nothing here reads or writes, and nothing is added that the report does not hold
(no clock), so the same report renders to the same text.
"""

from __future__ import annotations

import html as html_lib
import json
import re

SEVERITIES = ("critical", "high", "medium", "low")  # worst first
NEVER = "never"
MD_TITLE = "keyless.aks_storage audit: %s"
SUBJECT_CHART_LIMIT = 25
# Chart geometry, in SVG user units: the longest bar is BAR_WIDTH long, the others in proportion.
BAR_WIDTH = 600
BAR_HEIGHT = 16
LABEL_WIDTH = 80
COUNT_WIDTH = 60
SEVERITY_ROW = 24
SUBJECT_ROW = 38
SUBJECT_LABEL_CHARS = 90
COLOURS = {"critical": "#8b1a1a", "high": "#d4380d", "medium": "#d89614", "low": "#4f72a8"}
_MD_SPECIAL = re.compile(r"([\\`*<>\[\]|&])")
_NEWLINE = re.compile(r"\r\n|\r|\n")


# ---------------------------------------------------------------------------------------------------- counts and gate

def _rank(severity):
    if severity not in SEVERITIES:
        raise ValueError("unknown severity %r: expected one of %s" % (severity, ", ".join(SEVERITIES)))
    return SEVERITIES.index(severity)


def _sort_rank(severity):
    """Like _rank, for ordering rows only: a severity outside the list sorts last instead of failing the render."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def subject_key(finding):
    subject = finding.get("subject") or {}
    return "%s/%s" % (subject.get("kind") or "unknown", subject.get("name") or "")


def _zeros():
    return {severity: 0 for severity in SEVERITIES}


def summarize(findings):
    """Counts of the findings: in total, by severity (every severity, zeros included), by type and by subject
    (``kind/name`` to counts by severity). Keys of by_type and by_subject are sorted so the order never depends
    on the order the findings were read in."""
    by_severity, by_type, by_subject = _zeros(), {}, {}
    for finding in findings:
        severity = finding["severity"]
        _rank(severity)
        by_severity[severity] += 1
        by_type[finding["type"]] = by_type.get(finding["type"], 0) + 1
        by_subject.setdefault(subject_key(finding), _zeros())[severity] += 1
    return {"total": len(findings), "by_severity": by_severity,
            "by_type": dict(sorted(by_type.items())), "by_subject": dict(sorted(by_subject.items()))}


def failing(findings, fail_on):
    """The findings at severity ``fail_on`` or worse; none for ``never``."""
    if fail_on == NEVER:
        return []
    if fail_on not in SEVERITIES:
        raise ValueError("fail_on must be one of %s, not %r" % (", ".join(SEVERITIES + (NEVER,)), fail_on))
    threshold = _rank(fail_on)
    return [finding for finding in findings if _rank(finding["severity"]) <= threshold]


# ------------------------------------------------------------------------------------------- shared report reading

def _summary(report):
    return report.get("summary") or summarize(report.get("findings") or [])


def _sections(report):
    """(type entry, findings) for every type that has findings: the catalogue's order first, then any type the
    catalogue does not name (sorted), so no finding is ever left out of the page. Rows worst first."""
    grouped = {}
    for finding in report.get("findings") or []:
        grouped.setdefault(finding.get("type"), []).append(finding)
    sections = []
    for entry in report.get("types") or []:
        if entry.get("type") in grouped:
            sections.append((entry, grouped.pop(entry["type"])))
    for name in sorted(grouped, key=str):
        sections.append(({"type": name, "title": str(name), "why": ""}, grouped[name]))
    return [(entry, sorted(rows, key=lambda item: _sort_rank(item.get("severity")))) for entry, rows in sections]


def _shared_why(entry, rows):
    """The why said once under the heading when every finding of the type gives the same one, else None."""
    whys = {_row_why(entry, row) for row in rows}
    return whys.pop() if len(whys) == 1 else None


def _row_why(entry, row):
    return row.get("why") or entry.get("why") or ""


def _resource(row):
    return row.get("resource_id") or subject_key(row)


def _plain(value):
    """A coverage value as a person reads it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _evidence_value(value):
    """An evidence value as JSON would say it (null, true, lists), strings bare."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _label(key):
    return str(key).replace("_", " ")


def _coverage_counts(coverage):
    """(label, value) for every coverage entry: a list counts its items."""
    return [(_label(key), len(value) if isinstance(value, list) else _plain(value)) for key, value in coverage.items()]


def _coverage_tables(coverage):
    """(label, columns, rows) for every coverage entry that is a list of records (the clusters): ``name`` first,
    then the other keys in the order they first appear."""
    tables = []
    for key, value in coverage.items():
        records = [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
        if not records:
            continue
        columns = ["name"] if any("name" in item for item in records) else []
        for item in records:
            columns += [column for column in item if column not in columns]
        tables.append((_label(key), columns, [[_plain(item.get(column)) for column in columns] for item in records]))
    return tables


def _requests_text(report):
    requests = report.get("requests") or {}
    return ", ".join("%s %s" % (_label(key), _plain(value)) for key, value in requests.items())


def _counts_text(summary):
    total = summary.get("total", 0)
    parts = ", ".join("%d %s" % (summary["by_severity"].get(severity, 0), severity) for severity in SEVERITIES)
    return "%d finding%s: %s" % (total, "" if total == 1 else "s", parts)


def _ranked_subjects(summary):
    """Subjects with the most findings first; ties by name."""
    return sorted(summary.get("by_subject", {}).items(), key=lambda item: (-sum(item[1].values()), item[0]))


# ------------------------------------------------------------------------------------------------------- Markdown

def md_text(value):
    """Text safe in a Markdown table cell or paragraph: Markdown's punctuation and pipes backslash-escaped (so a
    value can neither split a cell nor open HTML or a link), newlines as <br>."""
    return _NEWLINE.sub("<br>", _MD_SPECIAL.sub(r"\\\1", "" if value is None else str(value)))


def _md_heading(value):
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def _md_table(header, rows):
    lines = ["| %s |" % " | ".join(md_text(cell) for cell in header), "|%s" % ("---|" * len(header))]
    return lines + ["| %s |" % " | ".join(md_text(cell) for cell in row) for row in rows]


def _md_head(report, summary):
    lines = ["# " + _md_heading(MD_TITLE % report.get("subscription_id", "")), ""]
    if report.get("generated_at"):
        lines += ["Generated at " + md_text(report["generated_at"]) + ".", ""]
    if not summary.get("total"):
        return lines + ["Result: **CLEAN**. No findings: nothing to fix.", ""]
    status = md_text(str(report.get("status", "")).upper())
    return lines + ["Result: **%s** (%s)." % (status, _counts_text(summary)), ""]


def _md_coverage(report):
    coverage = report.get("coverage") or {}
    lines = ["## Coverage", "", "What the audit read:", ""] + _md_table(("read", "count"), _coverage_counts(coverage))
    for label, columns, rows in _coverage_tables(coverage):
        lines += ["", "### " + _md_heading(label), ""] + _md_table([_label(column) for column in columns], rows)
    if _requests_text(report):
        lines += ["", "Requests made: " + md_text(_requests_text(report)) + "."]
    return lines + [""]


def _md_summary(summary):
    by_severity = [(severity, summary["by_severity"].get(severity, 0)) for severity in SEVERITIES]
    lines = ["## Summary", "", "### By severity", ""] + _md_table(("severity", "findings"), by_severity)
    subjects = [[key] + [counts.get(severity, 0) for severity in SEVERITIES] + [sum(counts.values())]
                for key, counts in _ranked_subjects(summary)]
    lines += ["", "### By subject", ""] + _md_table(("subject",) + SEVERITIES + ("total",), subjects)
    return lines + [""]


def _md_section(entry, rows):
    why = _shared_why(entry, rows)
    lines = ["## " + _md_heading(entry.get("title") or entry.get("type")), "",
             "Type %s, %d finding%s." % (md_text(entry.get("type")), len(rows), "" if len(rows) == 1 else "s"), ""]
    if why is not None:
        lines += (["Why: " + md_text(why), ""] if why else [])
        header = ("severity", "resource", "found", "fix")
        cells = [(row.get("severity"), _resource(row), row.get("summary"), row.get("fix")) for row in rows]
    else:
        header = ("severity", "resource", "found", "why", "fix")
        cells = [(row.get("severity"), _resource(row), row.get("summary"), _row_why(entry, row), row.get("fix"))
                 for row in rows]
    return lines + _md_table(header, cells) + [""]


def markdown(report):
    """The Markdown report: title, result, coverage, the summary tables, then one table per finding type."""
    summary = _summary(report)
    lines = _md_head(report, summary) + _md_coverage(report)
    if summary.get("total"):
        lines += _md_summary(summary)
        for entry, rows in _sections(report):
            lines += _md_section(entry, rows)
    return "\n".join(lines).rstrip("\n") + "\n"


# ----------------------------------------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2328;
background:#fff;margin:0 auto;max-width:80rem;padding:1rem 1.5rem;line-height:1.45}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.25rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de}
h3{font-size:1.05rem;margin:1.25rem 0 .4rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f8fa}
.badge{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-weight:600;white-space:nowrap}
.sev-critical{background:#8b1a1a;color:#fff}.sev-high{background:#d4380d;color:#fff}
.sev-medium{background:#d89614;color:#1f2328}.sev-low{background:#4f72a8;color:#fff}
.status-clean{background:#1a7f37;color:#fff}
.result{font-size:1.1rem}.muted{color:#57606a}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1rem}
.swatch{display:inline-block;width:.9rem;height:.9rem;margin-right:.35rem;vertical-align:-.1rem;border-radius:2px}
.chart{max-width:100%;height:auto;font-size:12px}
.evidence{margin:0;padding-left:1rem}.evidence li{overflow-wrap:anywhere}
dl.coverage{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dl.coverage dd{margin:0}
@media print{h2{break-after:avoid}tr{break-inside:avoid}}
"""


def h(value):
    """HTML-escaped text, quotes included, so it is safe in text, attributes and SVG alike."""
    return html_lib.escape("" if value is None else str(value), quote=True)


def _h_lines(value):
    return _NEWLINE.sub("<br>", h(value))


def _num(value):
    """A coordinate with at most two decimals, always written the same way."""
    text = "%.2f" % value
    return text.rstrip("0").rstrip(".") if "." in text else text


def _badge(severity):
    return '<span class="badge sev-%s">%s</span>' % (h(severity), h(severity))


def _html_head(report, summary):
    title = h(MD_TITLE % report.get("subscription_id", ""))
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">', "<title>%s</title>" % title,
           "<style>%s</style>" % _CSS, "</head>", "<body>", "<header>", "<h1>%s</h1>" % title]
    if report.get("generated_at"):
        out.append('<p class="muted">Generated at <time>%s</time>.</p>' % h(report["generated_at"]))
    if summary.get("total"):
        status = str(report.get("status", ""))
        out.append('<p class="result">Result: <span class="badge sev-%s">%s</span> (%s).</p>'
                   % (h(status), h(status.upper()), h(_counts_text(summary))))
    else:
        out.append('<p class="result">Result: <span class="badge status-clean">CLEAN</span>. '
                   "No findings: nothing to fix.</p>")
    return out + ["</header>"]


def _html_nav(sections):
    items = ['<li><a href="#type-%s">%s</a> (%d)</li>' % (h(entry.get("type")), h(entry.get("title")), len(rows))
             for entry, rows in sections]
    return ['<nav aria-label="Finding types"><ul>'] + items + ["</ul></nav>"] if items else []


def _html_coverage(report):
    coverage = report.get("coverage") or {}
    out = ['<section id="coverage">', "<h2>Coverage</h2>", "<p>What the audit read:</p>", '<dl class="coverage">']
    out += ["<dt>%s</dt><dd>%s</dd>" % (h(label), h(value)) for label, value in _coverage_counts(coverage)]
    out.append("</dl>")
    for label, columns, rows in _coverage_tables(coverage):
        out += ["<h3>%s</h3>" % h(label), "<ul>"]
        for row in rows:
            pairs = ["%s: %s" % (h(_label(column)), h(cell)) for column, cell in zip(columns[1:], row[1:])]
            out.append("<li><strong>%s</strong>: %s</li>" % (h(row[0]), ", ".join(pairs)))
        out.append("</ul>")
    if _requests_text(report):
        out.append("<p>Requests made: %s.</p>" % h(_requests_text(report)))
    return out + ["</section>"]


def _legend(by_severity):
    items = ['<li><span class="swatch sev-%s"></span>%s: %d</li>' % (severity, severity, by_severity.get(severity, 0))
             for severity in SEVERITIES]
    return ['<ul class="legend">'] + items + ["</ul>"]


def _bar(css, x, y, width, tooltip):
    return ('<rect class="bar %s" x="%s" y="%s" width="%s" height="%d" fill="%s"><title>%s</title></rect>'
            % (css, _num(x), _num(y), _num(width), BAR_HEIGHT, COLOURS[css[len("sev-"):]], h(tooltip)))


def _svg_open(chart_id, height, title):
    width = LABEL_WIDTH + BAR_WIDTH + COUNT_WIDTH
    return ['<svg id="%s" class="chart" role="img" aria-labelledby="%s-title" viewBox="0 0 %d %d" width="%d" '
            'height="%d">' % (chart_id, chart_id, width, height, width, height),
            '<title id="%s-title">%s</title>' % (chart_id, h(title))]


def _count_text(bar_end, bar_y, count):
    """The count just after the end of its bar; closes the row's group."""
    return '<text class="count" x="%s" y="%d">%d</text></g>' % (_num(bar_end + 6), bar_y + BAR_HEIGHT - 3, count)


def severity_chart(by_severity):
    """Horizontal bars, one row per severity; a zero count keeps its row and label but draws no bar."""
    longest = max(by_severity.get(severity, 0) for severity in SEVERITIES) or 1
    title = "Findings by severity: " + ", ".join("%d %s" % (by_severity.get(s, 0), s) for s in SEVERITIES)
    out = _svg_open("chart-severity", SEVERITY_ROW * len(SEVERITIES) + 8, title)
    for index, severity in enumerate(SEVERITIES):
        count, y = by_severity.get(severity, 0), 4 + index * SEVERITY_ROW
        width = BAR_WIDTH * count / longest
        out.append('<g class="row"><text class="label" x="%d" y="%d" text-anchor="end">%s</text>'
                   % (LABEL_WIDTH - 6, y + BAR_HEIGHT - 3, severity))
        if count:
            out.append(_bar("sev-" + severity, LABEL_WIDTH, y, width, "%s: %d" % (severity, count)))
        out.append(_count_text(LABEL_WIDTH + width, y, count))
    return out + ["</svg>"]


def _subject_row(index, key, counts, longest):
    total, y = sum(counts.values()), 4 + index * SUBJECT_ROW
    shown = key if len(key) <= SUBJECT_LABEL_CHARS else key[:SUBJECT_LABEL_CHARS - 1] + "\u2026"
    parts = ", ".join("%d %s" % (counts[severity], severity) for severity in SEVERITIES if counts.get(severity))
    tooltip = "%s: %d finding%s (%s)" % (key, total, "" if total == 1 else "s", parts)
    out = ['<g class="subject"><title>%s</title>' % h(tooltip),
           '<text class="label" x="0" y="%d">%s</text>' % (y + 12, h(shown))]
    done, bar_y = 0, y + 16
    for severity in SEVERITIES:
        count = counts.get(severity, 0)
        if count:
            out.append(_bar("sev-" + severity, LABEL_WIDTH + BAR_WIDTH * done / longest, bar_y,
                            BAR_WIDTH * count / longest, "%s: %d %s" % (key, count, severity)))
            done += count
    out.append(_count_text(LABEL_WIDTH + BAR_WIDTH * total / longest, bar_y, total))
    return out


def subject_chart(summary):
    """Stacked bars for the subjects with the most findings (at most SUBJECT_CHART_LIMIT), one segment per
    severity; a note says how many subjects were left out."""
    ranked = _ranked_subjects(summary)
    shown, hidden = ranked[:SUBJECT_CHART_LIMIT], ranked[SUBJECT_CHART_LIMIT:]
    longest = max([sum(item[1].values()) for item in shown] + [1])
    title = "Findings by subject, stacked by severity (%d subject%s)" % (len(shown), "" if len(shown) == 1 else "s")
    out = _svg_open("chart-subjects", SUBJECT_ROW * len(shown) + 8, title)
    for index, (key, counts) in enumerate(shown):
        out += _subject_row(index, key, counts, longest)
    out.append("</svg>")
    if hidden:
        findings = sum(sum(item[1].values()) for item in hidden)
        out.append('<p class="muted more">%d more subject%s not shown (%d finding%s).</p>' % (
            len(hidden), "" if len(hidden) == 1 else "s", findings, "" if findings == 1 else "s"))
    return out


def _html_summary(summary):
    legend = _legend(summary["by_severity"])
    return (['<section id="summary">', "<h2>Summary</h2>", "<figure>"] + severity_chart(summary["by_severity"])
            + ["<figcaption>Findings by severity</figcaption>"] + legend + ["</figure>", "<figure>"]
            + subject_chart(summary) + ["<figcaption>Findings by subject (account, cluster, ...), one segment per "
                                        "severity</figcaption>"] + legend + ["</figure>", "</section>"])


def _evidence(evidence):
    """The evidence as a compact ``key: value`` list (anything but a mapping as one value)."""
    if not evidence:
        return ""
    if not isinstance(evidence, dict):
        return _h_lines(_evidence_value(evidence))
    items = ["<li>%s: %s</li>" % (h(key), _h_lines(_evidence_value(value))) for key, value in evidence.items()]
    return '<ul class="evidence">%s</ul>' % "".join(items)


def _html_row(entry, row, per_row_why):
    cells = [_badge(row.get("severity")), h(_resource(row)), _h_lines(row.get("summary"))]
    cells += [_h_lines(_row_why(entry, row))] if per_row_why else []
    cells += [_h_lines(row.get("fix")), _evidence(row.get("evidence"))]
    return "<tr>%s</tr>" % "".join("<td>%s</td>" % cell for cell in cells)


def _html_section(entry, rows):
    why = _shared_why(entry, rows)
    headers = ("severity", "resource", "found") + (("why",) if why is None else ()) + ("fix", "details")
    out = ['<section id="type-%s">' % h(entry.get("type")), "<h2>%s</h2>" % h(entry.get("title")),
           '<p class="muted">Type <code>%s</code>, %d finding%s.</p>' % (
               h(entry.get("type")), len(rows), "" if len(rows) == 1 else "s")]
    if why:
        out.append('<p class="why">%s</p>' % _h_lines(why))
    out += ["<table>", "<thead><tr>%s</tr></thead>" % "".join('<th scope="col">%s</th>' % name for name in headers),
            "<tbody>"] + [_html_row(entry, row, why is None) for row in rows] + ["</tbody>", "</table>", "</section>"]
    return out


def html(report):
    """One self-contained HTML5 page (inline style and SVG, no script, nothing fetched): title and result,
    coverage, the charts, then one table per finding type. Every value from the report is escaped."""
    summary = _summary(report)
    sections = _sections(report) if summary.get("total") else []
    out = _html_head(report, summary) + _html_nav(sections) + ["<main>"] + _html_coverage(report)
    if summary.get("total"):
        out += _html_summary(summary)
    for entry, rows in sections:
        out += _html_section(entry, rows)
    return "\n".join(out + ["</main>", "</body>", "</html>"]) + "\n"
