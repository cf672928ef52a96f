"""The ARM front door: authentication, api-version, subscription/resource-group/parent checks,
read/write counting, dispatch to resource-type handlers, and LRO polling."""

import copy
import re
import time
import urllib.parse

from ..server import Response
from . import lro, paths
from .errors import ArmError, invalid_request_content, method_not_allowed, resource_group_not_found

API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$")
RESOURCE_GROUPS = "Microsoft.Resources/resourceGroups"
READ_METHODS = ("GET", "HEAD")
MAX_HOLD_SECONDS = 30.0  # cap on call.hold() so a bad config cannot park a server thread for long


def _utc(ts):
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(ts))


def check_api_version(handler, api_version):
    """Only the api-versions a type declares are served (GET .../providers lists the same ones). ARM itself
    serves Microsoft.Resources and answers InvalidApiVersionParameter, newest first (azure-rest-api-specs
    issue 11711); a resource provider's type answers NoRegisteredProviderFound, oldest first (azure-cli
    issue 28496)."""
    if api_version in handler.api_versions:
        return
    namespace, _sep, type_path = handler.type_name.partition("/")
    if namespace.lower() == "microsoft.resources":
        raise ArmError(400, "InvalidApiVersionParameter",
                       f"The api-version '{api_version}' is invalid. The supported versions are "
                       f"'{','.join(sorted(handler.api_versions, reverse=True))}'.")
    raise ArmError(400, "NoRegisteredProviderFound",
                   f"No registered resource provider found for location 'global' and API version "
                   f"'{api_version}' for type '{type_path}'. The supported api-versions are "
                   f"'{', '.join(sorted(handler.api_versions))}'.")


class ArmCall:
    """Everything a resource-type handler needs for one request."""

    def __init__(self, app, request, path, handler, api_version, token):
        self.app = app
        self.store = app.store
        self.request = request
        self.path = path
        self.handler = handler
        self.type_name = handler.type_name
        self.api_version = api_version
        self.token = token
        self.id = None              # canonical id of the addressed resource (item and action calls)
        self.container_id = None    # scope or parent id (collection calls)
        self.existing = None        # stored body of the addressed resource, if any
        self.action = None          # action name for POST .../{action} calls
        self.verb = None            # handler method that serves the call
        self.resource_group = path.resource_group

    @property
    def name(self):
        return self.path.names[-1] if self.path.names else None

    def body(self) -> dict:
        try:
            body = self.request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise invalid_request_content(f"The request content was invalid and could not be deserialized: {exc}")
        if not isinstance(body, dict):
            raise invalid_request_content("The request content must be a JSON object.")
        return body

    def resource_group_body(self):
        if not self.resource_group:
            return None
        return self.store.get(paths.resource_group_id(self.path.subscription, self.resource_group))

    def begin_lro(self, **kwargs):
        return lro.begin(self, **kwargs)

    def hold(self, seconds: float) -> None:
        """Answer only after `seconds`, waiting *outside* the store lock (a write that takes time in
        Azure, during which other requests are served and may see it in progress)."""
        self.request.meta["hold_seconds"] = min(max(0.0, float(seconds)), MAX_HOLD_SECONDS)

    def list_response(self, items, page_size=None):
        """{"value": [...]} with optional paging (config page_size, or page_size for e.g. $top) through
        nextLink/$skiptoken; the nextLink keeps the other query parameters ($filter, ...)."""
        sizes = [s for s in (int(self.store.config.get("page_size") or 0), int(page_size or 0)) if s > 0]
        size = min(sizes) if sizes else 0
        items = [copy.deepcopy(i) for i in items]
        if size <= 0:
            return Response.json(200, {"value": items})
        try:
            start = max(0, int(self.request.query.get("$skiptoken", "0")))
        except ValueError:
            raise ArmError(400, "InvalidSkipToken", "The $skiptoken is invalid.")
        body = {"value": items[start:start + size]}
        if start + size < len(items):
            kept = [(k, v) for k, v in self.request.query_list if k.lower() not in ("api-version", "$skiptoken")]
            query = urllib.parse.urlencode([("api-version", self.api_version), *kept, ("$skiptoken", start + size)])
            body["nextLink"] = f"{self.app.arm_url}{self.request.path.lstrip('/')}?{query}"
        return Response.json(200, body)


class ArmFramework:
    def __init__(self, app, registry):
        self.app = app
        self.registry = registry
        app.store.delete_listeners.append(self._deleted)

    def _deleted(self, bodies):
        """Store.delete_tree() removed these resources: let their resource types clean up."""
        for body in bodies:
            handler = self.registry.lookup(body.get("type") or "")
            if handler is not None:
                handler.on_deleted(self.app, body)

    def register_routes(self, router):
        router.add(r"/subscriptions(/.*)?", self.handle, kind="arm")
        router.add(r"/providers/.+", self.handle, kind="arm")  # tenant-level, e.g. role definitions

    # ------------------------------------------------------------------ entry point
    def handle(self, request, _match):
        store = self.app.store
        request.meta["kind"] = "read" if request.method in READ_METHODS else "write"
        try:
            token = self._authenticate(request)
            api_version = self._api_version(request)
            path = paths.parse(request.path)
            with store.lock:
                try:
                    lro.settle(store)
                    if lro.is_operation_path(path):
                        op = store.operations.get(path.names[-1])
                        request.meta.update(kind="poll", resource_type=op["type"] if op else None)
                        store.count("lro_polls")
                        return lro.poll(store, path.names[-1], str(store.config["lro_retry_after"]))
                    call = self._resolve(request, path, api_version, token)
                    response = getattr(call.handler, call.verb)(call)
                finally:
                    store.flush()  # persist whatever the request (or a completed operation) changed
        except ArmError as exc:
            if exc.status == 401:
                store.count("unauthorized")
            return exc.response()
        hold = request.meta.pop("hold_seconds", 0)
        if hold:
            time.sleep(hold)  # the lock is released: other requests proceed meanwhile
        return response

    # ------------------------------------------------------------------ checks
    def _unauthorized(self, code, message):
        authority = f"{self.app.authority_host}/{self.app.tenant_id}"
        challenge = (f'Bearer authorization_uri="{authority}", error="invalid_token", '
                     f'error_description="{message.replace(chr(34), chr(39))}"')
        return ArmError(401, code, message, headers={"WWW-Authenticate": challenge})

    def _authenticate(self, request):
        header = request.header("Authorization")
        if not header:
            raise self._unauthorized("AuthenticationFailed",
                                     "Authentication failed. The 'Authorization' header is missing.")
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self._unauthorized("AuthenticationFailed", "Authentication failed. The 'Authorization' "
                                     "header is provided in an invalid format.")
        info = self.app.store.tokens.get(token.strip())
        if info is None:
            raise self._unauthorized("InvalidAuthenticationToken", "The access token is invalid.")
        if info["tenant_id"].lower() != self.app.tenant_id.lower():
            raise self._unauthorized(
                "InvalidAuthenticationTokenTenant",
                f"The access token is from the wrong issuer '{info['issuer']}'. It must match the tenant "
                f"'{self.app.authority_host}/{self.app.tenant_id}/' associated with this subscription.")
        if not self.app.is_arm_audience(info["audience"]):
            allowed = ",".join(f"'{variant}'" for audience in self.app.arm_audiences
                               for variant in (audience, audience.removesuffix("/")))
            raise self._unauthorized(
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource '{info['audience']}'. It "
                f"should exactly match with one of the allowed audiences {allowed}.")
        now = time.time()
        if info["expires_on"] <= now:
            raise self._unauthorized(
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{_utc(info['expires_on'])}' is earlier than current UTC "
                f"time '{_utc(now)}'.")
        return info

    @staticmethod
    def _api_version(request):
        version = request.query.get("api-version")
        if not version:
            raise ArmError(400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required for all requests.")
        if not API_VERSION_RE.match(version):
            raise ArmError(400, "InvalidApiVersionParameter",
                           f"The api-version '{version}' is invalid. The supported versions are in the "
                           f"format 'YYYY-MM-DD' with an optional '-preview' suffix.")
        return version

    # ------------------------------------------------------------------ routing
    def resolve(self, request, path, api_version, token=None):
        """Serve an in-process ARM call (an emulated controller's, e.g. the blob CSI provisioner) as the front door
        would: the same providers, validation and errors; the caller checks RBAC itself."""
        return self._resolve(request, path, api_version, token)

    def _resolve(self, request, path, api_version, token):
        app, store, method = self.app, self.app.store, request.method
        if method == "POST" and request.path.rstrip("/").lower().endswith("/listkeys"):
            store.count("list_keys")  # counted whatever answers it: keyless runs must make none
        if path.subscription and path.subscription.lower() != app.subscription_id.lower():
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{path.subscription}' could not be found.")
        action = None
        if path.is_collection and method == "POST" and len(path.types) >= 2 and not path.builtin:
            parent = self.registry.lookup(path.type_key(depth=len(path.names)))
            if parent is not None:
                action = parent.actions.get(path.types[-1].lower())
                if action is None and self.registry.lookup(path.type_key()) is None:
                    raise ArmError(404, "NotFound",
                                   f"The action '{path.types[-1]}' is not supported on '{parent.type_name}'.")
                handler = parent
        if action is None:
            handler = self.registry.require(path.type_key(), api_version)
        check_api_version(handler, api_version)
        call = ArmCall(app, request, path, handler, api_version, token)
        if action is not None:
            call.action = path.types[-1]
            call.verb = action.handler
            call.id = paths.build_id(path, handler.type_name)
            kind = "write" if action.mutating else "read"
        elif path.is_collection:
            if method == "POST":
                call.verb, kind = "post", ("write" if handler.post_is_write else "read")
            elif method == "GET":
                call.verb, kind = "list", "read"
            else:
                raise method_not_allowed(method, handler.type_name)
            depth = len(path.names)
            call.container_id = (paths.build_id(path, handler.type_name, depth=depth) if depth
                                 else (path.scope or "/"))
        else:
            verbs = {"GET": "get", "HEAD": "head", "PUT": "put", "PATCH": "patch", "DELETE": "delete"}
            if method not in verbs:
                raise method_not_allowed(method, handler.type_name)
            call.verb = verbs[method]
            kind = "read" if method in READ_METHODS else "write"
            call.id = paths.build_id(path, handler.type_name)
        request.meta["kind"] = kind
        request.meta["resource_type"] = handler.type_name
        store.count_type(handler.type_name, kind)
        self._check_scope(call, kind)
        if call.id:
            call.existing = store.get(call.id)
        return call

    def _check_scope(self, call, kind):
        path, store = call.path, call.store
        is_rg_itself = call.type_name == RESOURCE_GROUPS
        if path.resource_group and not is_rg_itself:
            rg = call.resource_group_body()
            if rg is None:
                raise resource_group_not_found(path.resource_group)
            if kind == "write" and rg["properties"].get("provisioningState") == "Deleting":
                raise ArmError(409, "ResourceGroupBeingDeleted",
                               f"The resource group '{path.resource_group}' is in deprovisioning state and "
                               f"cannot perform this operation.")
        # Nested resources need their parent chain (the addressed resource itself is the handler's job).
        levels = len(path.names) if (path.is_collection and not call.action) else len(path.names) - 1
        if path.builtin:
            return
        for level in range(1, levels + 1):
            if store.get(paths.build_id(path, call.type_name, depth=level)) is None:
                parent_type = "/".join(call.type_name.split("/")[:level + 1])
                raise call.handler.parent_not_found(call, parent_type, path.names[level - 1])
