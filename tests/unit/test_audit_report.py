"""The keyless audit's report renderers (plugins/module_utils/audit_report.py): counts, the fail_on gate, the
Markdown report and the self-contained HTML page, checked by parsing what they write."""

import copy
import re
from html.parser import HTMLParser

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import audit_report
from ansible_collections.keyless.aks_storage.plugins.module_utils.audit_report import SEVERITIES

SUB = "00000000-0000-0000-0000-000000000001"
ACCOUNTS = "/subscriptions/%s/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/" % SUB
EVIL = '<script>alert("x")</script>\' onmouseover=\'y'
TYPES = (
    {"type": "key_in_secret", "title": "Kubernetes Secrets that hold an account key", "why": "a key is a password"},
    {"type": "shared_key_enabled", "title": "Storage accounts that allow shared key access", "why": "keys bypass RBAC"},
    {"type": "key_role_granted", "title": "Key-listing roles granted", "why": "a key role reads the keys"},
)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def finding(kind="shared_key_enabled", severity="high", name="stapp1", subject_kind="account", **extra):
    item = {"type": kind, "severity": severity, "resource_id": ACCOUNTS + name,
            "subject": {"kind": subject_kind, "name": name}, "summary": "allowSharedKeyAccess is unset (allowed)",
            "why": next((entry["why"] for entry in TYPES if entry["type"] == kind), "why"),
            "fix": "set allowSharedKeyAccess to false", "evidence": {"allowSharedKeyAccess": None}}
    item.update(extra)
    return item


def report(findings, types=TYPES, **extra):
    worst = next((severity for severity in SEVERITIES if any(f["severity"] == severity for f in findings)), "clean")
    body = {"subscription_id": SUB, "generated_at": "2026-12-02T10:00:00Z", "status": worst,
            "summary": audit_report.summarize(findings), "types": list(types), "findings": findings,
            "coverage": {"storage_accounts": 200, "role_assignments": 500, "role_definitions": 40,
                         "clusters": [{"name": "aks-dev", "kubernetes": True, "secrets": 1000,
                                       "persistent_volumes": 300, "storage_classes": 4, "pods": 50}]},
            "requests": {"azure": 12, "kubernetes": 9}}
    body.update(extra)
    return body


def mixed_findings():
    """4 high, 2 medium, 1 low, no critical; four subjects, two types."""
    return ([finding(severity="high", name="stapp%d" % index) for index in range(1, 4)]
            + [finding(kind="key_in_secret", severity="high", name="aks-dev", subject_kind="cluster",
                       resource_id="aks-dev/namespaces/apps/secrets/blob-key",
                       evidence={"keys": ["azurestorageaccountkey"]}),
               finding(kind="key_in_secret", severity="medium", name="aks-dev", subject_kind="cluster",
                       resource_id="aks-dev/namespaces/apps/secrets/old-key"),
               finding(severity="medium", name="stapp1"), finding(severity="low", name="stapp1")])


# ------------------------------------------------------------------------------------------------ summarize/failing

def test_summarize_counts_every_severity_type_and_subject():
    summary = audit_report.summarize(mixed_findings())
    assert summary["total"] == 7
    assert summary["by_severity"] == {"critical": 0, "high": 4, "medium": 2, "low": 1}
    assert list(summary["by_severity"]) == list(SEVERITIES)
    assert summary["by_type"] == {"key_in_secret": 2, "shared_key_enabled": 5}
    assert summary["by_subject"] == {
        "account/stapp1": {"critical": 0, "high": 1, "medium": 1, "low": 1},
        "account/stapp2": {"critical": 0, "high": 1, "medium": 0, "low": 0},
        "account/stapp3": {"critical": 0, "high": 1, "medium": 0, "low": 0},
        "cluster/aks-dev": {"critical": 0, "high": 1, "medium": 1, "low": 0}}


def test_summarize_of_nothing_still_lists_every_severity():
    assert audit_report.summarize([]) == {"total": 0, "by_severity": dict.fromkeys(SEVERITIES, 0),
                                          "by_type": {}, "by_subject": {}}


def test_summarize_refuses_a_severity_outside_the_list():
    with pytest.raises(ValueError, match="unknown severity 'severe'"):
        audit_report.summarize([finding(severity="severe")])


@pytest.mark.parametrize("fail_on, expected", [
    ("critical", ["critical"]),
    ("high", ["critical", "high"]),
    ("medium", ["critical", "high", "medium"]),
    ("low", ["critical", "high", "medium", "low"]),
    ("never", []),
])
def test_failing_returns_the_findings_at_fail_on_or_worse_in_their_order(fail_on, expected):
    findings = [finding(severity=severity, name="st" + severity) for severity in ("low", "critical", "medium", "high")]
    picked = audit_report.failing(findings, fail_on)
    assert sorted(item["severity"] for item in picked) == sorted(expected)
    assert picked == [item for item in findings if item["severity"] in expected]


def test_failing_refuses_an_unknown_gate():
    with pytest.raises(ValueError, match="fail_on must be one of critical, high, medium, low, never"):
        audit_report.failing([], "warn")


# ------------------------------------------------------------------------------------------------------- Markdown

def md_cells(line):
    """A Markdown table row's cells, as GFM splits them: a backslash escapes the next character."""
    cells, cell, index = [], "", 1
    while index < len(line) - 1:
        char = line[index]
        if char == "\\":
            cell, index = cell + line[index:index + 2], index + 2
            continue
        if char == "|":
            cells, cell = cells + [cell.strip()], ""
        else:
            cell += char
        index += 1
    return cells + [cell.strip()]


def md_tables(text):
    """{heading above the table: [header cells, row cells...]} for every table in the text."""
    tables, heading, current = {}, None, None
    for line in text.split("\n"):
        if line.startswith("#"):
            heading, current = line.lstrip("# "), None
        elif line.startswith("|"):
            assert line.endswith("|"), line
            if current is None:
                current = tables.setdefault(heading, [])
            if not re.fullmatch(r"\|(---\|)+", line):
                current.append(md_cells(line))
        else:
            current = None
    return tables


def test_markdown_has_title_result_coverage_summary_and_one_table_per_type():
    text = audit_report.markdown(report(mixed_findings()))
    assert text.startswith("# keyless.aks_storage audit: %s\n" % SUB)
    assert "Result: **HIGH** (7 findings: 0 critical, 4 high, 2 medium, 1 low)." in text
    assert "Generated at 2026-12-02T10:00:00Z." in text
    tables = md_tables(text)
    assert tables["Coverage"] == [["read", "count"], ["storage accounts", "200"], ["role assignments", "500"],
                                  ["role definitions", "40"], ["clusters", "1"]]
    assert tables["clusters"][1] == ["aks-dev", "yes", "1000", "300", "4", "50"]
    assert "Requests made: azure 12, kubernetes 9." in text
    assert tables["By severity"] == [["severity", "findings"], ["critical", "0"], ["high", "4"], ["medium", "2"],
                                     ["low", "1"]]
    assert tables["By subject"][:2] == [["subject", "critical", "high", "medium", "low", "total"],
                                        ["account/stapp1", "0", "1", "1", "1", "3"]]
    assert len(tables["By subject"]) == 1 + 4
    keys, shared = tables[TYPES[0]["title"]], tables[TYPES[1]["title"]]
    assert keys[0] == shared[0] == ["severity", "resource", "found", "fix"]
    assert [row[0] for row in shared[1:]] == ["high", "high", "high", "medium", "low"]  # worst first
    assert shared[1][1] == ACCOUNTS + "stapp1"
    assert len(keys) == 1 + 2


def test_markdown_sections_follow_the_catalogue_and_skip_types_without_findings():
    findings = [finding(kind="key_role_granted", severity="critical"), finding(kind="key_in_secret")]
    text = audit_report.markdown(report(findings))
    headings = [line[3:] for line in text.split("\n") if line.startswith("## ")]
    assert headings == ["Coverage", "Summary", TYPES[0]["title"], TYPES[2]["title"]]
    assert TYPES[1]["title"] not in text


def test_markdown_says_a_shared_why_once_and_a_differing_why_per_row():
    text = audit_report.markdown(report([finding(name="a"), finding(name="b")]))
    assert text.count("Why: keys bypass RBAC") == 1
    assert md_tables(text)[TYPES[1]["title"]][0] == ["severity", "resource", "found", "fix"]
    text = audit_report.markdown(report([finding(name="a"), finding(name="b", why="another reason")]))
    table = md_tables(text)[TYPES[1]["title"]]
    assert "Why:" not in text
    assert table[0] == ["severity", "resource", "found", "why", "fix"]
    assert [row[3] for row in table[1:]] == ["keys bypass RBAC", "another reason"]


def test_markdown_escapes_pipes_newlines_and_html_in_cells():
    tricky = finding(summary="a | b\nc\r\nd", fix="run `az storage account update` | then\nwait",
                     resource_id=ACCOUNTS + "st|x", why="one\ntwo | three")
    text = audit_report.markdown(report([tricky, finding(summary=EVIL, name="evil", why=tricky["why"])]))
    table = md_tables(text)[TYPES[1]["title"]]
    assert all(len(row) == 4 for row in table)
    row = next(row for row in table if row[1].endswith("st\\|x"))
    assert row[2] == "a \\| b<br>c<br>d"
    assert row[3] == "run \\`az storage account update\\` \\| then<br>wait"
    assert "Why: one<br>two \\| three" in text
    assert re.findall(r"(?<!\\)<(?!br>)", text) == [] and "\\<script\\>" in text


def test_markdown_of_a_clean_report_says_so_plainly():
    text = audit_report.markdown(report([]))
    assert "Result: **CLEAN**. No findings: nothing to fix." in text
    assert "## Summary" not in text
    assert list(md_tables(text)) == ["Coverage", "clusters"]


def test_markdown_lists_every_subject():
    text = audit_report.markdown(report(many_subjects()))
    assert len(md_tables(text)["By subject"]) == 1 + 60


# ----------------------------------------------------------------------------------------------------------- HTML

class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def walk(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.walk()

    def find_all(self, tag, css=None, **attrs):
        return [node for node in self.walk() if node.tag == tag
                and (css is None or css in (node.attrs.get("class") or "").split())
                and all(node.attrs.get(name) == value for name, value in attrs.items())]

    def find(self, tag, css=None, **attrs):
        found = self.find_all(tag, css, **attrs)
        assert len(found) == 1, (tag, css, attrs, len(found))
        return found[0]

    def text(self):
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)


class Page(HTMLParser):
    """The page as a tree; every opened non-void tag must be closed, in order."""

    def __init__(self, source):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", [], None)
        self.declarations = []
        self.feed(source)
        self.close()
        assert self.current is self.root, "unclosed <%s>" % self.current.tag

    def handle_decl(self, decl):
        self.declarations.append(decl)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        assert tag not in VOID, "</%s> closes a void element" % tag
        assert self.current.tag == tag, "</%s> closes <%s>" % (tag, self.current.tag)
        self.current = self.current.parent

    def handle_data(self, data):
        self.current.children.append(data)


def page(body):
    return Page(audit_report.html(body)).root


def assert_self_contained(root):
    tags = [node.tag for node in root.walk()]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags and "object" not in tags
    for node in root.walk():
        for name, value in node.attrs.items():
            assert name not in ("src", "srcset", "xlink:href", "action", "formaction", "data"), (node.tag, name)
            assert not name.startswith("on"), (node.tag, name)
            if name == "href":
                assert value.startswith("#"), value
    styles = " ".join(node.text() + " " + (node.attrs.get("style") or "") for node in root.walk()
                      if node.tag == "style" or node.attrs.get("style"))
    assert not re.search(r"url\(\s*['\"]?\s*(https?:|//)", styles, re.I)
    assert "@import" not in styles and "@font-face" not in styles


def bars(svg, severity=None):
    rects = svg.find_all("rect", "bar")
    return [rect for rect in rects if severity is None or "sev-" + severity in rect.attrs["class"].split()]


def test_html_is_one_well_formed_self_contained_page():
    source = audit_report.html(report(mixed_findings()))
    parser = Page(source)
    assert source.startswith("<!DOCTYPE html>") and parser.declarations == ["DOCTYPE html"]
    root = parser.root
    assert root.find("html").attrs["lang"] == "en"
    assert root.find("meta", charset="utf-8")
    assert len(root.find_all("style")) == 1
    assert root.find("head").find("title").text() == "keyless.aks_storage audit: " + SUB
    assert root.find("time").text() == "2026-12-02T10:00:00Z"
    assert_self_contained(root)
    assert "http" not in source  # not even an SVG namespace: inline SVG in HTML5 needs none


def test_html_severity_chart_draws_one_bar_per_non_zero_severity_in_proportion():
    root = page(report(mixed_findings()))  # 0 critical, 4 high, 2 medium, 1 low
    svg = root.find("svg", id="chart-severity")
    assert svg.attrs["role"] == "img" and svg.find("title", id=svg.attrs["aria-labelledby"])
    assert len(bars(svg)) == 3 and bars(svg, "critical") == []
    widths = {severity: float(bars(svg, severity)[0].attrs["width"]) for severity in ("high", "medium", "low")}
    assert widths == {"high": audit_report.BAR_WIDTH, "medium": audit_report.BAR_WIDTH / 2,
                      "low": audit_report.BAR_WIDTH / 4}
    assert [rect.find("title").text() for rect in bars(svg)] == ["high: 4", "medium: 2", "low: 1"]
    legend = svg.parent.find("ul", "legend")
    assert [item.text() for item in legend.find_all("li")] == ["critical: 0", "high: 4", "medium: 2", "low: 1"]


def test_html_subject_chart_stacks_one_segment_per_severity_in_proportion_to_the_busiest_subject():
    findings = [finding(severity="critical", name="stbusy"), finding(severity="critical", name="stbusy"),
                finding(severity="high", name="stbusy"), finding(severity="medium", name="stquiet")]
    svg = page(report(findings)).find("svg", id="chart-subjects")
    rows = svg.find_all("g", "subject")
    assert [row.find("text", "label").text() for row in rows][:2] == ["account/stbusy", "account/stquiet"]
    busy, quiet = (bars(row) for row in rows)
    full, x0 = audit_report.BAR_WIDTH, audit_report.LABEL_WIDTH
    assert [(rect.attrs["class"], float(rect.attrs["x"]), float(rect.attrs["width"])) for rect in busy] == [
        ("bar sev-critical", x0, full * 2 / 3), ("bar sev-high", pytest.approx(x0 + full * 2 / 3, abs=0.01),
                                                 pytest.approx(full / 3, abs=0.01))]
    assert [float(rect.attrs["width"]) for rect in quiet] == [pytest.approx(full / 3, abs=0.01)]
    assert rows[0].find_all("title")[0].text() == "account/stbusy: 3 findings (2 critical, 1 high)"
    assert svg.find("title", id="chart-subjects-title")


def test_html_has_one_table_per_finding_type_with_one_row_per_finding():
    findings = mixed_findings()
    root = page(report(findings))
    sections = [node for node in root.find_all("section") if node.attrs.get("id", "").startswith("type-")]
    assert [node.attrs["id"] for node in sections] == ["type-key_in_secret", "type-shared_key_enabled"]
    assert len(root.find_all("table")) == 2
    for section, entry in zip(sections, TYPES):
        assert section.find("h2").text() == entry["title"]
        assert section.find("p", "why").text() == entry["why"]
        table = section.find("table")
        assert [th.text() for th in table.find_all("th")] == ["severity", "resource", "found", "fix", "details"]
        rows = table.find("tbody").find_all("tr")
        assert len(rows) == sum(1 for item in findings if item["type"] == entry["type"])
        assert all(len(row.find_all("td")) == 5 for row in rows)
    secret = sections[0].find("tbody").find_all("tr")[0].find_all("td")
    assert [cell.text() for cell in secret[:2]] == ["high", "aks-dev/namespaces/apps/secrets/blob-key"]
    assert [item.text() for item in secret[4].find("ul", "evidence").find_all("li")] == [
        'keys: ["azurestorageaccountkey"]']
    shared = sections[1].find("tbody").find_all("tr")[0].find_all("td")
    assert shared[4].find("li").text() == "allowSharedKeyAccess: null"
    links = [(a.attrs["href"], a.text()) for a in root.find("nav").find_all("a")]
    assert links == [("#type-key_in_secret", TYPES[0]["title"]), ("#type-shared_key_enabled", TYPES[1]["title"])]


def test_html_shows_a_differing_why_per_row_and_a_type_missing_from_the_catalogue():
    findings = [finding(name="a"), finding(name="b", why="another reason"), finding(kind="new_check", name="c")]
    root = page(report(findings))
    shared = root.find("section", id="type-shared_key_enabled")
    assert shared.find_all("p", "why") == []
    assert [th.text() for th in shared.find_all("th")] == ["severity", "resource", "found", "why", "fix", "details"]
    whys = [row.find_all("td")[3].text() for row in shared.find_all("tr")[1:]]
    assert whys == ["keys bypass RBAC", "another reason"]
    assert len(root.find("section", id="type-new_check").find("tbody").find_all("tr")) == 1


def test_html_escapes_every_value_from_the_report():
    evil = finding(kind=EVIL, name=EVIL, resource_id=EVIL, summary=EVIL, why=EVIL, fix=EVIL, evidence={EVIL: EVIL})
    types = list(TYPES) + [{"type": EVIL, "title": EVIL, "why": EVIL}]
    body = report([evil], types=types, subscription_id=EVIL, generated_at=EVIL,
                  coverage={EVIL: 1, "clusters": [{"name": EVIL, EVIL: EVIL}]}, requests={EVIL: 2})
    source = audit_report.html(body)
    assert "<script" not in source.lower() and 'alert("x")' not in source and "' onmouseover" not in source
    root = Page(source).root
    assert_self_contained(root)
    section = root.find("section", id="type-" + EVIL)
    assert root.find("nav").find("a").attrs["href"] == "#type-" + EVIL
    assert section.find("h2").text() == EVIL and section.find("p", "why").text() == EVIL
    cells = [cell.text() for cell in section.find("tbody").find_all("td")]
    assert cells[1:4] == [EVIL, EVIL, EVIL] and cells[4] == EVIL + ": " + EVIL
    chart = root.find("svg", id="chart-subjects")
    assert chart.find("text", "label").text() == "account/" + EVIL
    assert all(EVIL in title.text() for title in chart.find_all("title")[1:])
    assert root.find("head").find("title").text() == "keyless.aks_storage audit: " + EVIL
    assert root.find("time").text() == EVIL
    assert EVIL in root.find("section", id="coverage").text()


def test_markdown_escapes_every_value_from_the_report_too():
    evil = finding(kind=EVIL, name=EVIL, resource_id=EVIL, summary=EVIL, why=EVIL, fix=EVIL)
    text = audit_report.markdown(report([evil], types=list(TYPES) + [{"type": EVIL, "title": EVIL, "why": EVIL}],
                                        subscription_id=EVIL, coverage={"clusters": [{"name": EVIL}]}))
    assert re.findall(r"(?<!\\)<(?!br>)", text) == []
    assert "\\<script\\>" in text


def test_html_is_the_same_for_the_same_report_and_adds_no_clock():
    body = report(mixed_findings())
    assert audit_report.html(body) == audit_report.html(copy.deepcopy(body))
    assert audit_report.markdown(body) == audit_report.markdown(copy.deepcopy(body))
    del body["generated_at"]
    source, text = audit_report.html(body), audit_report.markdown(body)
    assert "Generated" not in source and "<time" not in source and "Generated" not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}", source + text)


def many_subjects():
    """60 accounts with one finding each, but the last five have three."""
    findings = [finding(severity="medium", name="st%02d" % index) for index in range(60)]
    return findings + [finding(severity="high", name="st%02d" % index) for index in range(55, 60) for repeat in "ab"]


def test_html_subject_chart_shows_the_25_busiest_subjects_and_says_how_many_more():
    root = page(report(many_subjects()))
    svg = root.find("svg", id="chart-subjects")
    labels = [row.find("text", "label").text() for row in svg.find_all("g", "subject")]
    assert len(labels) == audit_report.SUBJECT_CHART_LIMIT == 25
    assert labels[:5] == ["account/st%02d" % index for index in range(55, 60)]
    assert labels[5:] == ["account/st%02d" % index for index in range(20)]
    note = root.find("p", "more").text()
    assert "35 more" in note and note == "35 more subjects not shown (35 findings)."
    assert int(svg.attrs["height"]) == 25 * audit_report.SUBJECT_ROW + 8


def test_html_of_a_clean_report_says_so_and_draws_no_chart():
    root = page(report([]))
    assert "No findings: nothing to fix." in root.find("p", "result").text()
    assert root.find_all("svg") == [] and root.find_all("table") == [] and root.find_all("nav") == []
    assert root.find("section", id="coverage").find("dl", "coverage")
