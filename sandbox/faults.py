"""Fault rules: answer matching requests with an error (or delay them) a fixed number of times.

Rules match in the order they were added; each answers `count` times and then disappears.
  method       "PUT" or None for any
  path         regex searched in the lowercased request path (no query string)
  status       HTTP status to answer with; None = delay only, then handle the request normally
  code/message ARM error code and message (Entra-style body on token endpoints)
  retry_after  Retry-After header value (string) or None
  delay        seconds to wait before answering (capped)
  lro_fail     true: do not answer; make the long-running operation this request starts fail
"""

import re
import time

from .server import Response

MAX_DELAY = 30.0
MAX_COUNT = 100000


class FaultSpecError(ValueError):
    pass


def add_rule(store, spec: dict) -> dict:
    if not isinstance(spec, dict):
        raise FaultSpecError("fault must be a JSON object")
    unknown = set(spec) - {"method", "path", "status", "code", "message", "count", "retry_after",
                           "delay", "lro_fail", "headers"}
    if unknown:
        raise FaultSpecError(f"unknown fault fields: {sorted(unknown)}")
    path = spec.get("path") or ""
    try:
        regex = re.compile(path)
    except re.error as exc:
        raise FaultSpecError(f"invalid path regex: {exc}") from exc
    status = spec.get("status")
    if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
        raise FaultSpecError("status must be an HTTP status code or null")
    count = spec.get("count", 1)
    if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise FaultSpecError(f"count must be an integer in 1..{MAX_COUNT}")
    delay = float(spec.get("delay") or 0.0)
    if not 0 <= delay <= MAX_DELAY:
        raise FaultSpecError(f"delay must be within 0..{MAX_DELAY} seconds")
    lro_fail = bool(spec.get("lro_fail", False))
    if status is None and not delay and not lro_fail:
        raise FaultSpecError("a fault needs a status, a delay or lro_fail")
    retry_after = spec.get("retry_after")
    headers = spec.get("headers") or {}
    if not isinstance(headers, dict):
        raise FaultSpecError("headers must be an object")
    with store.lock:
        store.fault_seq += 1
        rule = {"id": store.fault_seq, "method": (spec.get("method") or "").upper() or None,
                "path": path, "status": status, "code": spec.get("code"), "message": spec.get("message"),
                "remaining": count, "retry_after": None if retry_after is None else str(retry_after),
                "delay": delay, "lro_fail": lro_fail, "headers": {str(k): str(v) for k, v in headers.items()},
                "_regex": regex}
        store.faults.append(rule)
    return public(rule)


def public(rule: dict) -> dict:
    return {k: v for k, v in rule.items() if not k.startswith("_")}


def take(store, method: str, path: str, lro: bool = False):
    """Consume one use of the first matching rule; returns a copy of it or None."""
    lowered = path.lower()
    with store.lock:
        for rule in store.faults:
            if rule["lro_fail"] != lro:
                continue
            if rule["method"] and rule["method"] != method.upper():
                continue
            if not rule["_regex"].search(lowered):
                continue
            rule["remaining"] -= 1
            if rule["remaining"] <= 0:
                store.faults.remove(rule)
            return public(rule)
    return None


def wait(rule: dict) -> None:
    if rule.get("delay"):
        time.sleep(min(float(rule["delay"]), MAX_DELAY))


def response(rule: dict, kind: str) -> Response:
    status = rule["status"]
    headers = dict(rule.get("headers") or {})
    if rule.get("retry_after") is not None:
        headers["Retry-After"] = rule["retry_after"]
    code = rule.get("code") or {429: "TooManyRequests", 500: "InternalServerError",
                                503: "ServiceUnavailable"}.get(status, "SandboxFault")
    message = rule.get("message") or f"Fault injected by the sandbox (rule {rule['id']})."
    if kind == "kubernetes":  # the emulated API servers answer with a Kubernetes Status
        return Response.json(status, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                      "message": message, "reason": code, "code": status}, headers)
    if kind in ("token", "msi"):
        body = {"error": "temporarily_unavailable" if status >= 500 or status == 429 else "invalid_request",
                "error_description": f"{code}: {message}", "error_codes": [],
                "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())}
        return Response.json(status, body, headers)
    return Response.json(status, {"error": {"code": code, "message": message}}, headers)
