"""Label and field selectors (the query syntax of LIST/WATCH/DELETE-collection)."""

import re

from .errors import bad_request

MAX_REQUIREMENTS = 100
# Fields the real API server lets you select on, besides metadata.name/namespace (per kind).
EXTRA_FIELDS = {
    "Pod": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"},
    "Event": {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
              "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
              "reason", "reportingComponent", "source", "type"},
    "Secret": {"type"},
    "Namespace": {"status.phase"},
    "Job": {"status.successful"},
    "PersistentVolumeClaim": set(),
}

_SET_RE = re.compile(r"^\s*([^\s!=<>(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_CMP_RE = re.compile(r"^\s*([^\s!=<>(),]+)\s*(==|=|!=|>|<)\s*([^\s!=<>(),]*)\s*$")
_KEY_RE = re.compile(r"^\s*(!?)\s*([^\s!=<>(),]+)\s*$")


def _split(text: str) -> list:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def parse_labels(text: str | None) -> list:
    """-> [(key, op, values)] with op in = != in notin exists !exists > <. Raises 400 on bad syntax."""
    requirements = []
    for part in _split(text or "")[:MAX_REQUIREMENTS + 1]:
        if len(requirements) >= MAX_REQUIREMENTS:
            raise bad_request("too many label selector requirements")
        if match := _SET_RE.match(part):
            values = [v.strip() for v in match.group(3).split(",") if v.strip()]
            requirements.append((match.group(1), match.group(2), values))
        elif match := _CMP_RE.match(part):
            op = "=" if match.group(2) == "==" else match.group(2)
            if op in (">", "<") and not re.fullmatch(r"-?\d+", match.group(3)):
                raise bad_request(f"unable to parse requirement: {part!r}: for 'gt', 'lt' operators, exactly one "
                                  f"value is required and it must be an integer")
            requirements.append((match.group(1), op, [match.group(3)]))
        elif match := _KEY_RE.match(part):
            requirements.append((match.group(2), "!exists" if match.group(1) else "exists", []))
        else:
            raise bad_request(f"unable to parse requirement: {part.strip()!r}")
    return requirements


def labels_match(requirements: list, labels: dict | None) -> bool:
    labels = labels or {}
    for key, op, values in requirements:
        present, value = key in labels, labels.get(key)
        if op == "=" and value != values[0]:
            return False
        if op == "!=" and present and value == values[0]:
            return False
        if op == "in" and (not present or value not in values):
            return False
        if op == "notin" and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
        if op in (">", "<"):
            try:
                number = int(value)
            except (TypeError, ValueError):
                return False
            if (op == ">" and number <= int(values[0])) or (op == "<" and number >= int(values[0])):
                return False
    return True


def parse_fields(text: str | None, kind) -> list:
    """-> [(path, op, value)] with op = or !=; unsupported field labels are a 400 like the real server."""
    allowed = {"metadata.name", "metadata.namespace"} | EXTRA_FIELDS.get(kind.kind, set())
    requirements = []
    for part in _split(text or "")[:MAX_REQUIREMENTS]:
        match = _CMP_RE.match(part)
        if not match or match.group(2) in (">", "<"):
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part.strip()}'")
        path = match.group(1)
        if path not in allowed:
            raise bad_request(f'field label not supported: {path}')
        requirements.append((path, "!=" if match.group(2) == "!=" else "=", match.group(3)))
    return requirements


def _field_value(obj: dict, path: str) -> str:
    value = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def fields_match(requirements: list, obj: dict) -> bool:
    for path, op, value in requirements:
        actual = _field_value(obj, path)
        if (op == "=") != (actual == value):
            return False
    return True


def _requirement(key, op, values) -> str:
    if op == "Exists":
        return key
    if op == "DoesNotExist":
        return "!" + key
    if op == "=":
        return f"{key}={values[0] if values else ''}"
    return f"{key} {'in' if op == 'In' else 'notin'} ({','.join(sorted(values))})"


def selector_string(selector) -> str:
    """A metav1.LabelSelector as labels.Selector.String() prints it (requirements sorted by key); "" if empty."""
    if not isinstance(selector, dict):
        return ""
    requirements = [(k, "=", [str(v)]) for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        if isinstance(expression, dict):
            requirements.append((expression.get("key", ""), expression.get("operator", ""),
                                 [str(v) for v in expression.get("values") or []]))
    return ",".join(_requirement(*r) for r in sorted(requirements, key=lambda r: r[0]))
