"""Object metadata rules: name validation, timestamps, and the fields the server owns."""

import re
import secrets
import time

SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
LABEL1035_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the API server's: no vowels, no confusable digits
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
                 "deletionTimestamp", "selfLink")

_RULES = {
    "subdomain": (SUBDOMAIN_RE, 253, ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                  "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
                                      "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]"
                                      "([-a-z0-9]*[a-z0-9])?)*')")),
    "label": (LABEL_RE, 63, ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
              "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
                             "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")),
    "label1035": (LABEL1035_RE, 63, ("a DNS-1035 label must consist of lower case alphanumeric characters or "
                  "'-', start with an alphabetic character, and end with an alphanumeric character (e.g. "
                                     "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")),
}


def rule_messages(rule: str, value: str) -> list:
    """What k8s.io/apimachinery IsDNS1123Subdomain / IsDNS1123Label / IsDNS1035Label say of `value` (no field, no
    "Invalid value" prefix); [] when valid."""
    regex, limit, text = _RULES[rule]
    messages = [f"must be no more than {limit} characters"] if len(value) > limit else []
    if not regex.fullmatch(value):
        messages.append(text)
    return messages


def name_problems(rule: str, name: str) -> list:
    """Messages (without the field) for an invalid name; [] when valid."""
    if rule == "path":  # RBAC objects: any path segment
        if name in (".", "..") or "/" in name or "%" in name:
            return [f'Invalid value: "{name}": may not contain \'/\' or \'%\' and may not be \'.\' or \'..\'']
        return []
    return [f'Invalid value: "{name}": {message}' for message in rule_messages(rule, name)]


def timestamp(ts: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts if ts is not None else time.time()))


def generated_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(GENERATE_ALPHABET) for _index in range(5))


def label_problems(labels) -> list:
    """(field, message) pairs for malformed label maps (keys: optional DNS prefix + name; values <= 63)."""
    problems = []
    if labels is None:
        return problems
    if not isinstance(labels, dict):
        return [("metadata.labels", "Invalid value: must be a map of strings")]
    for key, value in labels.items():
        prefix, _sep, name = key.rpartition("/")
        if (not re.fullmatch(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", name or "") or len(name) > 63
                or (prefix and not SUBDOMAIN_RE.fullmatch(prefix))):
            problems.append(("metadata.labels", (f'Invalid value: "{key}": name part must consist of alphanumeric '
                             "characters, '-', '_' or '.', and must start and end with an alphanumeric character")))
        if not isinstance(value, str) or (value and (len(value) > 63 or not re.fullmatch(
                r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", value))):
            problems.append(("metadata.labels", (f'Invalid value: "{value}": a valid label must be an empty '
                             "string or consist of alphanumeric characters, '-', '_' or '.', and must start and "
                                                 "end with an alphanumeric character")))
    return problems
