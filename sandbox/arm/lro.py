"""Long-running operations, in the two styles ARM uses.

location:        202 + Location + Retry-After; polling the Location answers 202 while running and
                 then the final status/body (200 + body, or 204/200 for deletes).
azure-async:     200/201 with the resource body (provisioningState Creating/Updating/Deleting) +
                 Azure-AsyncOperation; the status URL answers {"status": "InProgress"|"Succeeded"|"Failed"}.

An operation completes after `lro_polls` "still running" answers, or by itself once
`lro_max_seconds` have passed (like Azure, it does not need to be polled to finish). A fault rule
with "lro_fail": true makes the operation started by a matching request end as Failed.
"""

import math
import time
import urllib.parse
import uuid

from .. import faults
from ..server import Response
from .errors import ArmError


def _iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e6):06d}Z"


def begin(call, *, style, complete, namespace, location, running_body=None, running_status=201,
          on_fail=None):
    """Start an operation for `call` and return the initial response.

    complete() runs exactly once when the operation succeeds: it applies the change and returns
    (status, body) for the final Location poll (body None for an empty answer).
    on_fail(error) runs instead when a fault makes the operation fail.
    """
    if style not in ("location", "azure-async"):
        raise ValueError(style)
    store = call.store
    config = store.config
    now = time.time()
    op_id = str(uuid.uuid4())
    failure = faults.take(store, call.request.method, call.request.path, lro=True)
    if failure:
        store.count("faults_injected")
        call.request.meta["fault"] = True
    segment = "operationResults" if style == "location" else "operationStatuses"
    url = (f"{call.app.arm_url}subscriptions/{call.app.subscription_id}/providers/{namespace}"
           f"/locations/{location or 'global'}/{segment}/{op_id}?api-version={call.api_version}")
    store.add_operation({
        "id": op_id, "style": style, "url": url, "type": call.type_name, "resource_id": call.id,
        "polls_left": max(0, int(config["lro_polls"])), "deadline": now + float(config["lro_max_seconds"]),
        "started": now, "ended": None, "status": "InProgress", "failure": failure,
        "complete": complete, "on_fail": on_fail, "result": None,
    })
    headers = {"Retry-After": initial_retry_after(config["lro_retry_after"])}
    if style == "location":
        headers["Location"] = url
        return Response.empty(202, headers)
    headers["Azure-AsyncOperation"] = url
    return Response.json(running_status, running_body, headers)


def initial_retry_after(value) -> str:
    """Retry-After for the *initial* LRO response: a whole number of seconds.

    The typespec-generated SDKs (azure-mgmt-resource 26, -storage 25, -containerservice 41)
    deserialize that header with int() and raise ValueError on "0.1". azure-core polls once right
    after the initial response, so only the poll responses (which carry the configured value,
    parsed as float) decide the pace.
    """
    seconds = float(value)
    return "0" if seconds <= 0 else str(max(1, math.ceil(seconds)))


def _finish(op):
    op["ended"] = time.time()
    failure = op["failure"]
    if failure:
        op["status"] = "Failed"
        op["error"] = {"code": failure.get("code") or "InternalServerError",
                       "message": failure.get("message") or "The operation failed (sandbox fault)."}
        if op["on_fail"]:
            op["on_fail"](op["error"])
    else:
        op["result"] = op["complete"]()
        op["status"] = "Succeeded"
    op["complete"] = op["on_fail"] = None  # drop closures over state


def settle(store, now=None):
    """Complete operations whose deadline passed (called with the store lock held)."""
    now = now or time.time()
    for op in list(store.operations.values()):
        if op["status"] == "InProgress" and now >= op["deadline"]:
            _finish(op)


def is_operation_path(path) -> bool:
    types = [t.lower() for t in path.types]
    return (not path.builtin and len(types) == 2 and len(path.names) == 2 and types[0] == "locations"
            and types[1] in ("operationresults", "operationstatuses"))


def poll(store, op_id, retry_after):
    op = store.operations.get(op_id)
    if op is None:
        raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' could not be found.")
    if op["status"] == "InProgress":
        if op["polls_left"] > 0:
            op["polls_left"] -= 1
        else:
            _finish(op)
    if op["style"] == "location":
        if op["status"] == "InProgress":
            return Response.empty(202, {"Location": op["url"], "Retry-After": retry_after})
        if op["status"] == "Failed":
            status = int(op["failure"].get("status") or 400)
            return Response.json(status, {"error": op["error"]})
        status, body = op["result"] or (200, None)
        return Response.empty(status) if body is None else Response.json(status, body)
    body = {"id": urllib.parse.urlsplit(op["url"]).path, "name": op_id,
            "status": op["status"], "startTime": _iso(op["started"])}
    if op["ended"]:
        body["endTime"] = _iso(op["ended"])
    if op["status"] == "Failed":
        body["error"] = op["error"]
    headers = {"Retry-After": retry_after} if op["status"] == "InProgress" else {}
    return Response.json(200, body, headers)
