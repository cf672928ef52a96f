"""Control API under /_sandbox (same port, no auth: the server only listens on loopback).

Control calls are logged with kind "control" but never counted as ARM/Entra traffic.
"""

import copy
import uuid

from . import faults, seed as seeding
from .arm import paths
from .arm.errors import ArmError
from .arm.providers.authorization import directory
from .k8s import control as kube_control
from .oidc import OidcError
from .server import Response


def _bad(message, status=400):
    return Response.json(status, {"error": {"code": "BadRequest" if status == 400 else "NotFound",
                                            "message": message}})


def merge_patch(target: dict, patch: dict) -> dict:
    """RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _guard(handler):
    """Turn validation errors raised by a control handler into a 400 answer."""
    def wrapped(self, request, match):
        try:
            return handler(self, request, match)
        except (ValueError, TypeError, OidcError, faults.FaultSpecError) as exc:
            return _bad(str(exc))
    wrapped.__name__ = handler.__name__
    return wrapped


class ControlApi:
    def __init__(self, app):
        self.app = app

    def register_routes(self, router):
        add = router.add
        add(r"/_sandbox/?", self.health, ["GET"], "control")
        add(r"/_sandbox/health", self.health, ["GET"], "control")
        add(r"/_sandbox/reset", self.reset, ["POST"], "control")
        add(r"/_sandbox/counters", self.counters, ["GET"], "control")
        add(r"/_sandbox/requests", self.requests, ["GET"], "control")
        add(r"/_sandbox/state", self.state, ["GET"], "control")
        add(r"/_sandbox/state", self.restore_state, ["PUT"], "control")
        add(r"/_sandbox/faults", self.list_faults, ["GET"], "control")
        add(r"/_sandbox/faults", self.add_fault, ["POST"], "control")
        add(r"/_sandbox/faults", self.clear_faults, ["DELETE"], "control")
        add(r"/_sandbox/faults/(?P<id>\d+)", self.delete_fault, ["DELETE"], "control")
        add(r"/_sandbox/config", self.get_config, ["GET"], "control")
        add(r"/_sandbox/config", self.set_config, ["POST"], "control")
        add(r"/_sandbox/resources", self.resources, ["POST"], "control")
        add(r"/_sandbox/resources", self.delete_resource, ["DELETE"], "control")
        add(r"/_sandbox/oidc/token", self.mint_token, ["POST"], "control")
        add(r"/_sandbox/app/federated-credentials", self.list_app_fics, ["GET"], "control")
        add(r"/_sandbox/app/federated-credentials", self.add_app_fic, ["POST"], "control")
        add(r"/_sandbox/app/federated-credentials", self.clear_app_fics, ["DELETE"], "control")
        add(r"/_sandbox/tokens/expire", self.expire_tokens, ["POST"], "control")
        add(r"/_sandbox/tokens", self.list_tokens, ["GET"], "control")
        add(r"/_sandbox/directory/groups", self.list_groups, ["GET"], "control")
        add(r"/_sandbox/directory/groups", self.add_group_member, ["POST"], "control")
        add(r"/_sandbox/directory/groups", self.remove_group_member, ["DELETE"], "control")
        add(r"/_sandbox/seed", self.seed, ["POST"], "control")
        kube_control.register_routes(router, self.app)  # /_sandbox/k8s/clusters

    @staticmethod
    def _json(request):
        try:
            body = request.json()
        except ValueError as exc:
            raise ValueError(f"invalid JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        return body

    # ------------------------------------------------------------------ basics
    def health(self, request, match):
        return Response.json(200, {"ok": True, "pid": self.app.pid, "arm_url": self.app.arm_url})

    def reset(self, request, match):
        self.app.store.reset()
        self.app.store.flush()
        return Response.json(200, {"ok": True})

    def counters(self, request, match):
        return Response.json(200, self.app.store.counters())

    @_guard
    def requests(self, request, match):
        since = int(request.query.get("since", "0") or 0)
        return Response.json(200, {"requests": self.app.store.requests(since), "next": self.app.store.log_next})

    def state(self, request, match):
        store = self.app.store
        with store.lock:
            ops = [{k: op[k] for k in ("id", "style", "type", "resource_id", "status", "polls_left")}
                   for op in store.operations.values()]
            body = {**store.snapshot(), "operations": ops}
        return Response.json(200, body)

    @_guard
    def restore_state(self, request, match):
        """PUT back a GET /_sandbox/state snapshot (tests restore a converged chain instead of rebuilding it)."""
        self.app.store.restore_snapshot(self._json(request))
        self.app.store.flush()
        return Response.json(200, {"ok": True})

    # ------------------------------------------------------------------ faults
    def list_faults(self, request, match):
        with self.app.store.lock:
            return Response.json(200, {"faults": [faults.public(r) for r in self.app.store.faults]})

    @_guard
    def add_fault(self, request, match):
        rule = faults.add_rule(self.app.store, self._json(request))
        return Response.json(201, rule)

    def clear_faults(self, request, match):
        with self.app.store.lock:
            self.app.store.faults.clear()
        return Response.json(200, {"ok": True})

    def delete_fault(self, request, match):
        store, rule_id = self.app.store, int(match.group("id"))
        with store.lock:
            before = len(store.faults)
            store.faults[:] = [r for r in store.faults if r["id"] != rule_id]
            found = len(store.faults) != before
        return Response.json(200, {"ok": True}) if found else _bad(f"no fault {rule_id}", 404)

    # ------------------------------------------------------------------ config
    def get_config(self, request, match):
        with self.app.store.lock:
            return Response.json(200, copy.deepcopy(self.app.store.config))

    @_guard
    def set_config(self, request, match):
        body = self._json(request)
        store = self.app.store
        with store.lock:
            unknown = set(body) - set(store.config_defaults)
            if unknown:
                raise ValueError(f"unknown config keys {sorted(unknown)}; known: {sorted(store.config_defaults)}")
            if "lro_retry_after" in body:
                value = str(body["lro_retry_after"])
                if float(value) < 0:
                    raise ValueError("lro_retry_after must be >= 0")
                body["lro_retry_after"] = value
            for key in ("lro_polls", "token_lifetime", "page_size"):
                if key in body and (not isinstance(body[key], int) or body[key] < 0):
                    raise ValueError(f"{key} must be a non-negative integer")
            for key, value in body.items():  # provider tunables: same kind as their default
                default = store.config_defaults[key]
                if isinstance(default, bool) and not isinstance(value, bool):
                    raise ValueError(f"{key} must be true or false")
                if (isinstance(default, (int, float)) and not isinstance(default, bool)
                        and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0)):
                    raise ValueError(f"{key} must be a non-negative number")
                if isinstance(default, list) and not isinstance(value, list):
                    raise ValueError(f"{key} must be a list")
            store.config.update(copy.deepcopy(body))
            return Response.json(200, copy.deepcopy(store.config))

    # ------------------------------------------------------------------ resources (drift)
    @_guard
    def resources(self, request, match):
        body = self._json(request)
        resource_id = body.get("id")
        if not isinstance(resource_id, str) or not resource_id.startswith("/"):
            raise ValueError("'id' must be an ARM resource id")
        store = self.app.store
        with store.lock:
            if "merge" in body:
                if not isinstance(body["merge"], dict):
                    raise ValueError("'merge' must be an object")
                current = store.get(resource_id)
                if current is None:
                    return _bad(f"resource {resource_id} not found", 404)
                merged = merge_patch(copy.deepcopy(current), body["merge"])
                merged["id"], merged["type"] = current["id"], current["type"]
                store.put(merged)
            elif isinstance(body.get("body"), dict):
                merged = self._raw_put(resource_id, body["body"])
            else:
                raise ValueError("give either 'merge' (object) or 'body' (object)")
            store.flush()
            return Response.json(200, copy.deepcopy(merged))

    def _raw_put(self, resource_id, raw):
        """Store a resource exactly as given (id/name/type filled in from the id), no validation."""
        try:
            path = paths.parse(resource_id)
            handler = self.app.registry.require(path.type_key(), "control")
        except ArmError as exc:
            raise ValueError(exc.message) from exc
        record = copy.deepcopy(raw)
        record.update(id=paths.build_id(path, handler.type_name), name=path.names[-1], type=handler.type_name)
        self.app.store.put(record)
        return record

    @_guard
    def delete_resource(self, request, match):
        resource_id = request.query.get("id")
        if not resource_id:
            raise ValueError("query parameter 'id' is required")
        store = self.app.store
        with store.lock:
            existed = store.delete_tree(resource_id)
            store.flush()
        return Response.json(200, {"deleted": existed})

    # ------------------------------------------------------------------ identity helpers
    @_guard
    def mint_token(self, request, match):
        body = self._json(request)
        oidc = self.app.oidc
        issuer = body.get("issuer") or oidc.issuer_url(body.get("issuer_name") or "default")
        token = oidc.mint(issuer, body.get("subject"), body.get("audience") or "api://AzureADTokenExchange",
                          body.get("ttl", 3600), body.get("claims"))
        return Response.json(200, {"token": token, "issuer": issuer})

    def list_app_fics(self, request, match):
        with self.app.store.lock:
            return Response.json(200, {"value": copy.deepcopy(self.app.store.app_federated_credentials)})

    @_guard
    def add_app_fic(self, request, match):
        body = self._json(request)
        issuer, subject = body.get("issuer"), body.get("subject")
        audiences = body.get("audiences") or ["api://AzureADTokenExchange"]
        if not isinstance(issuer, str) or not issuer or not isinstance(subject, str) or not subject:
            raise ValueError("'issuer' and 'subject' are required strings")
        if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
            raise ValueError("'audiences' must be a list of strings")
        store = self.app.store
        with store.lock:
            name = body.get("name") or f"app-fic-{len(store.app_federated_credentials) + 1}"
            cred = {"name": name, "issuer": issuer, "subject": subject, "audiences": audiences}
            store.app_federated_credentials = [c for c in store.app_federated_credentials if c["name"] != name]
            store.app_federated_credentials.append(cred)
            store.dirty = True
            store.flush()
        return Response.json(201, cred)

    def clear_app_fics(self, request, match):
        store = self.app.store
        with store.lock:
            store.app_federated_credentials = []
            store.dirty = True
            store.flush()
        return Response.json(200, {"ok": True})

    # ------------------------------------------------------------------ directory groups
    def list_groups(self, request, match):
        with self.app.store.lock:
            groups = [copy.deepcopy(g) for g in self.app.store.directory_groups.values()]
        return Response.json(200, {"value": groups})

    @_guard
    def add_group_member(self, request, match):
        """{"principal_id", "group_id"?} -> the group ({"group_id", "members"}); a new group id when none is given.
        Tokens issued afterwards for the AKS server app carry the group in their `groups` claim."""
        body = self._json(request)
        store = self.app.store
        with store.lock:
            result = directory.add_member(self.app, body.get("principal_id"), body.get("group_id") or str(uuid.uuid4()))
            store.flush()
        return Response.json(201, result)

    @_guard
    def remove_group_member(self, request, match):
        group_id, principal_id = request.query.get("group_id"), request.query.get("principal_id")
        if not group_id or not principal_id:
            raise ValueError("query parameters 'group_id' and 'principal_id' are required")
        store = self.app.store
        with store.lock:
            removed = directory.remove_member(self.app, principal_id, group_id)
            store.flush()
        return Response.json(200, {"removed": removed})

    # ------------------------------------------------------------------ seeding (sandbox/seed.py)
    @_guard
    def seed(self, request, match):
        """Fill the sandbox with a large, seed-determined estate -> what was made (counts, ids, secret values)."""
        return Response.json(201, seeding.seed(self.app, self._json(request)))

    def list_tokens(self, request, match):
        """The access tokens Entra issued (the token and its audience, client and grant), oldest first: the tests
        look for them where they must never appear."""
        with self.app.store.lock:
            issued = [dict(info, access_token=token) for token, info in self.app.store.tokens.items()]
        return Response.json(200, {"value": sorted(issued, key=lambda info: info["issued_at"])})

    @_guard
    def expire_tokens(self, request, match):
        body = self._json(request)
        client_id = (body.get("client_id") or "").lower()
        store = self.app.store
        expired = 0
        with store.lock:
            for info in store.tokens.values():
                if not client_id or info["client_id"].lower() == client_id:
                    info["expires_on"] = 0
                    expired += 1
        return Response.json(200, {"expired": expired})
