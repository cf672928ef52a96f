"""Assembles the sandbox: state, identities, routes, and the request pipeline
(route -> fault injection -> handler -> request log)."""

import os
import secrets
import sys
import time
import traceback
import uuid

from . import faults
from .arm.framework import ArmFramework
from .arm.providers import register_all
from .arm.registry import Registry
from .control import ControlApi
from .entra import Entra
from .helm_standin import wrapper as helm_wrapper
from .k8s import KubeHub
from .k8s.api import KubeApi
from .kubelet import Kubelet
from .metadata import CloudMetadata
from .msi import ManagedIdentityEndpoint
from .oidc import OidcIssuers
from .provisioner import BlobProvisioner
from .server import Response, Router
from .state import Store
from .storage_data import StorageDataPlane

DEFAULT_ARM_AUDIENCE = "https://management.keyless-sandbox.local/"


class App:
    def __init__(self, *, workdir, state_file=None, lro_retry_after="1", arm_audience=DEFAULT_ARM_AUDIENCE):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.pid = os.getpid()
        self.base_url = None  # set by bind() once the port is known
        self.arm_audience = arm_audience
        self.store = Store(os.path.abspath(state_file) if state_file else None)
        persisted = self.store.load()
        # Tenant/subscription/app ids survive restarts with the same state file; secrets never do.
        self.tenant_id = persisted.get("tenant_id") or str(uuid.uuid4())
        self.subscription_id = persisted.get("subscription_id") or str(uuid.uuid4())
        self.client_id = persisted.get("client_id") or str(uuid.uuid4())
        self.app_object_id = persisted.get("app_object_id") or str(uuid.uuid4())
        self.store.identity = {"tenant_id": self.tenant_id, "subscription_id": self.subscription_id,
                               "client_id": self.client_id, "app_object_id": self.app_object_id}
        self.client_secret = secrets.token_urlsafe(32)
        self.msi_identity_header = secrets.token_urlsafe(24)
        self.store.add_config_defaults({"lro_retry_after": str(lro_retry_after)})
        self.store.config["lro_retry_after"] = str(lro_retry_after)

        self.registry = Registry()
        register_all(self.registry)
        for handler in self.registry.types.values():
            self.store.add_config_defaults(handler.config_defaults)
        self.entra = Entra(self, os.path.join(self.workdir, "entra-signing-key.pem"))
        self.oidc = OidcIssuers(self, os.path.join(self.workdir, "oidc-signing-key.pem"))
        self.kube = KubeHub(self)  # emulated Kubernetes API servers (AKS clusters and standalone ones)
        self.kubelet = Kubelet(self)  # decides emulated Jobs that mount blob volumes (keyless chain)
        self.provisioner = BlobProvisioner(self)  # the blob CSI controller: dynamic provisioning through ARM
        self.arm = ArmFramework(self, self.registry)
        self.helm_binary = helm_wrapper.write(self.workdir)  # helm stand-in for kubernetes.core.helm
        self.helm_binaries = {major: helm_wrapper.write(self.workdir, major) for major in ("3", "4")}
        self.router = Router()
        for component in (ControlApi(self), CloudMetadata(self), ManagedIdentityEndpoint(self), self.oidc,
                          self.kubelet, self.provisioner, KubeApi(self, self.kube), StorageDataPlane(self),
                          self.arm,
                          self.entra):  # last: its /{tenant}/... routes are the broadest
            component.register_routes(self.router)
        self.store.dirty = True

    # ------------------------------------------------------------------ addresses
    def bind(self, host, port):
        self.base_url = f"https://{host}:{port}"

    @property
    def arm_url(self):
        return self.base_url + "/"

    @property
    def authority_host(self):
        return self.base_url

    @property
    def arm_audiences(self) -> list:
        """Token audiences ARM accepts, like Azure's pair: the metadata audience (the analogue of
        https://management.core.windows.net/) and the ARM URL itself (https://management.azure.com/)."""
        return [self.arm_audience] + ([self.arm_url] if self.base_url else [])

    def is_arm_audience(self, audience: str) -> bool:
        def strip(value):
            return value.removesuffix("/").lower()
        return any(strip(audience) == strip(allowed) for allowed in self.arm_audiences)

    def connection_info(self, tls_files) -> dict:
        return {
            "arm_url": self.arm_url,
            "metadata_url": f"{self.base_url}/metadata/endpoints?api-version=2022-09-01",
            "authority_host": self.authority_host,
            "tenant_id": self.tenant_id,
            "subscription_id": self.subscription_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "app_object_id": self.app_object_id,
            "ca_file": tls_files.ca_file,
            "control_url": f"{self.base_url}/_sandbox",
            "arm_audience": self.arm_audience,
            "arm_scope": self.arm_audience + ".default",
            "oidc_issuer_base": self.oidc.base,
            "msi_endpoint": f"{self.base_url}/msi/token",
            "msi_identity_header": self.msi_identity_header,
            "pid": self.pid,
            "workdir": self.workdir,
            "state_file": self.store.state_file,
            "helm_binary": self.helm_binary,
            "helm_binaries": self.helm_binaries,
        }

    # ------------------------------------------------------------------ pipeline
    def handle(self, request) -> Response:
        started = time.monotonic()
        handler, match, kind = self.router.resolve(request.method, request.path)
        request.meta["kind"] = kind if handler else "other"
        response = None
        if kind != "control":
            rule = faults.take(self.store, request.method, request.path)
            if rule:
                faults.wait(rule)
                request.meta["fault"] = True
                with self.store.lock:
                    self.store.count("faults_injected")
                if rule["status"] is not None:
                    response = faults.response(rule, kind)
        if response is None:
            response = self._call(handler, match, kind, request)
        if kind != "control" or request.path.rstrip("/").lower() != "/_sandbox/requests":
            self._log(request, response, started)
        return response

    def _call(self, handler, match, kind, request):
        if handler is None:
            status = 405 if kind == "method" else 404
            return Response.json(status, {"error": {"code": "NotFound" if status == 404 else "MethodNotAllowed",
                                                    "message": f"{request.method} {request.path} is not served "
                                                               f"by the sandbox."}})
        try:
            return handler(request, match)
        except Exception as exc:  # noqa: BLE001 - a sandbox bug must surface as a clear 500, not a dropped connection
            traceback.print_exc(file=sys.stderr)
            return Response.json(500, {"error": {"code": "InternalServerError",
                                                 "message": f"sandbox bug: {type(exc).__name__}: {exc}"}})

    def _log(self, request, response, started):
        self.store.record({
            "time": time.time(), "method": request.method, "path": request.path, "query": request.query_string,
            "status": response.status, "resource_type": request.meta.get("resource_type"),
            "kind": request.meta.get("kind"), "user_agent": request.header("User-Agent", ""),
            "duration_ms": round((time.monotonic() - started) * 1000, 2), "fault": bool(request.meta.get("fault")),
        })
