"""The few OData $filter forms Microsoft.Authorization accepts, e.g.
"atScope() and principalId eq '...'" or "roleName eq 'Reader'". Terms are joined by "and"."""

import re

from ...errors import ArmError

TERMS = {
    "atScope": re.compile(r"atScope\(\)", re.IGNORECASE),
    "principalId": re.compile(r"principalId\s+eq\s+'([^']*)'", re.IGNORECASE),
    "assignedTo": re.compile(r"assignedTo\('([^']*)'\)", re.IGNORECASE),
    "roleName": re.compile(r"roleName\s+eq\s+'([^']*)'", re.IGNORECASE),
    "type": re.compile(r"type\s+eq\s+'([^']*)'", re.IGNORECASE),
}
AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def parse(text: str | None, allowed) -> dict:
    """{term: value} ("atScope" maps to True); a term outside `allowed` is a 400."""
    found = {}
    if not text or not text.strip():
        return found
    for part in AND.split(text.strip()):
        for name in allowed:
            match = TERMS[name].fullmatch(part.strip())
            if match:
                found[name] = match.group(1) if match.groups() else True
                break
        else:
            raise ArmError(400, "BadRequest", f"The filter '{text}' is not supported. Supported filter terms: "
                                              f"{', '.join(allowed)}.")
    return found
