"""Microsoft.ContainerService/managedClusters: PUT/GET/DELETE/list, listClusterUserCredential and
listClusterAdminCredential, wired to the emulated Kubernetes API servers (`app.kube`).

- PUT is an Azure-AsyncOperation LRO like AKS: 201 (new, "Creating") or 200 (existing, "Updating")
  with the body, then the status URL. The desired state is stored at once; when the operation
  succeeds the cluster is "Succeeded" and the hub is reconciled from the stored state (version, OIDC
  issuer, the AKS-managed blob and Azure Files CSI drivers). A failed operation (fault with "lro_fail") leaves the
  cluster "Failed", as AKS does; a later PUT reconciles it. A PUT while an operation on the cluster
  runs is 409 OperationNotAllowed.
- The emulated API server exists from the first PUT (`hub.add_cluster`); DELETE (Location-style LRO,
  202) removes the cluster, its node resource group (kubelet identity included) and the hub cluster;
  so does any other removal from ARM state (resource group deletion, control API) via `on_deleted`.
- The credential actions are reads: they return the hub's kubeconfig (server on the sandbox, the
  cluster's bearer token, the sandbox CA inline), base64 as AKS does. A cluster with AKS-managed Microsoft
  Entra integration (aad.py) answers listClusterUserCredential with the kubelogin exec-plugin kubeconfig
  (same server and CA; `format=azure` the legacy auth-provider form) instead; `disableLocalAccounts`
  refuses the static credentials: the admin one always, the user one when there is no Entra integration.
"""

import base64
import copy
from typing import ClassVar

from ....server import Response
from ...errors import (
    invalid_location_change,
    invalid_request_content,
    location_required,
)
from ...registry import Action
from ...stored import StoredResourceType, known_location, validate_tags
from . import aad, cluster_body, common, identity
from .addons import BLOB_DRIVER, FILE_DRIVER, reconcile_managed_driver


class ManagedClusters(StoredResourceType):
    type_name = common.CLUSTERS
    api_versions = common.API_VERSIONS
    name_pattern = common.CLUSTER_NAME
    name_rule = ("The name can contain only letters, numbers, underscores and hyphens. The name must start and "
                 "end with a letter or number and be at most 63 characters long.")
    actions: ClassVar[dict] = {"listclusterusercredential": Action("list_user_credential"),
                               "listclusteradmincredential": Action("list_admin_credential")}
    config_defaults: ClassVar[dict] = {
        "default_kubernetes_version": "1.33.2",    # kubernetesVersion when a PUT gives none
        "min_kubernetes_version": "1.20.0",        # below: 400 K8sVersionNotSupported
        "min_workload_identity_version": "1.22.0",  # workload identity below it: 400
    }

    # ------------------------------------------------------------------ rendering
    def render(self, call, record):
        body = copy.deepcopy(record)
        body["type"] = common.CLUSTER_TYPE_AS_SERVED
        return body

    # ------------------------------------------------------------------ PUT
    def put(self, call):
        body = call.body()
        existing = call.existing
        if existing is None:
            self.validate_name(call)
        if not body.get("location"):
            raise location_required()
        location = known_location(body["location"], self.type_name)
        if existing is not None and existing.get("location") != location:
            raise invalid_location_change(call.name, call.resource_group, existing.get("location"), location)
        if existing is not None:
            running = common.in_progress_operation(call.store, existing["id"])
            if running:
                verb = {"Creating": "create", "Deleting": "delete"}.get(
                    (existing.get("properties") or {}).get("provisioningState"), "update")
                raise common.operation_in_progress(running, verb, existing["name"])
        requested = body.get("properties") or {}
        if not isinstance(requested, dict):
            raise invalid_request_content("The 'properties' member must be an object.")
        record = {"id": existing["id"] if existing else call.id, "name": existing["name"] if existing else call.name,
                  "type": self.type_name, "location": location,
                  "tags": validate_tags(body.get("tags") if "tags" in body else (existing or {}).get("tags")),
                  "sku": copy.deepcopy(body.get("sku") or (existing or {}).get("sku") or
                                       {"name": "Base", "tier": "Free"}),
                  "identity": identity.control_plane_identity(call, body.get("identity"), existing)}
        if existing is None:
            node_rg = requested.get("nodeResourceGroup") or cluster_body.node_resource_group(
                call.resource_group, call.name, location)
            # Validate first (versions, features), then create the kubelet identity with real ids.
            probe = cluster_body.new_properties(call, dict(requested, nodeResourceGroup=node_rg), location, {})
            kubelet = identity.create_kubelet_identity(call, record["id"], record["name"], node_rg, location)
            probe["identityProfile"] = {"kubeletidentity": kubelet}
            record["properties"] = probe
        else:
            record["properties"] = cluster_body.updated_properties(call, existing.get("properties") or {}, requested,
                                                                   location)
        call.store.put(record)
        self._sync_hub(call.app, record)  # the API server exists from the first PUT
        return self._begin(call, record, created=existing is None)

    def _begin(self, call, record, created):
        store, app, cluster_id = call.store, call.app, record["id"]

        def complete():
            current = store.get(cluster_id)
            if current is None:  # deleted meanwhile
                return 200, self.render(call, record)
            props = current["properties"]
            props["provisioningState"] = "Succeeded"
            props["currentKubernetesVersion"] = common.full_version(
                props.get("kubernetesVersion") or props.get("currentKubernetesVersion") or "1.33.2",
                str(store.config.get("default_kubernetes_version") or "1.33.2"))
            for pool in props.get("agentPoolProfiles") or []:
                pool["provisioningState"] = "Succeeded"
            store.dirty = True
            self.reconcile(app, current)
            return 200, self.render(call, current)

        def on_fail(_error):
            current = store.get(cluster_id)
            if current is not None:
                current["properties"]["provisioningState"] = "Failed"
                for pool in current["properties"].get("agentPoolProfiles") or []:
                    pool["provisioningState"] = "Failed"
                store.dirty = True

        return call.begin_lro(style="azure-async", complete=complete, on_fail=on_fail,
                              namespace=common.NAMESPACE, location=record["location"],
                              running_body=self.render(call, record), running_status=201 if created else 200)

    # ------------------------------------------------------------------ hub wiring
    @staticmethod
    def _sync_hub(app, record):
        props = record["properties"]
        issuer = (props.get("oidcIssuerProfile") or {}).get("issuerURL") if cluster_body.oidc_enabled(props) \
            else None
        version = props.get("currentKubernetesVersion") or props.get("kubernetesVersion")
        return app.kube.add_cluster(record["id"], kubernetes_version=version, oidc_issuer_url=issuer)

    def reconcile(self, app, record):
        """Bring the cluster's emulated API server in line with the ARM record (idempotent)."""
        self._sync_hub(app, record)
        props = record["properties"]
        version = props.get("currentKubernetesVersion") or props.get("kubernetesVersion")
        reconcile_managed_driver(app.kube, record["id"], BLOB_DRIVER, cluster_body.blob_driver_enabled(props))
        reconcile_managed_driver(app.kube, record["id"], FILE_DRIVER, cluster_body.file_driver_enabled(props), version)
        aad.reconcile(app.kube, record["id"], record["properties"])

    # ------------------------------------------------------------------ PATCH (tags only, like AKS updateTags)
    def patch(self, call):
        if call.existing is None:
            raise self.not_found(call)
        body = call.body()
        record = copy.deepcopy(call.existing)
        if "tags" in body:
            record["tags"] = validate_tags(body.get("tags"))
        call.store.put(record)
        return Response.json(200, self.render(call, record))

    # ------------------------------------------------------------------ DELETE
    def delete(self, call):
        existing = call.existing
        if existing is None:
            return Response.empty(204)
        store, app, cluster_id = call.store, call.app, existing["id"]
        existing["properties"]["provisioningState"] = "Deleting"
        store.dirty = True

        def complete():
            store.delete_tree(cluster_id)  # on_deleted() removes the node group and the hub cluster
            app.kube.remove_cluster(cluster_id)
            return 200, None

        def on_fail(_error):
            current = store.get(cluster_id)
            if current is not None:
                current["properties"]["provisioningState"] = "Failed"
                store.dirty = True

        return call.begin_lro(style="location", complete=complete, on_fail=on_fail,
                              namespace=common.NAMESPACE, location=existing["location"])

    def on_deleted(self, app, body):
        """The cluster left ARM state by any path (its DELETE, its resource group's deletion, the control
        API): AKS deletes the node resource group and the control plane with it."""
        identity.delete_node_group(app.store, app.subscription_id, body)
        app.kube.remove_cluster(body["id"])

    # ------------------------------------------------------------------ credentials (reads)
    @staticmethod
    def _static_credential_refused():
        return common.ArmError(400, "BadRequest", "Getting static credential is not allowed because this "
                                                  "cluster is set to disable local accounts.")

    def list_user_credential(self, call):
        cluster = call.existing
        if cluster is None:
            raise self.not_found(call)
        props = cluster["properties"]
        if aad.managed(props):
            kind = aad.user_kubeconfig_format(call, props)
            endpoint = call.app.kube.endpoint(cluster["id"]) or self._sync_hub(call.app, cluster)
            render = aad.exec_kubeconfig if kind == "exec" else aad.azure_kubeconfig
            group = cluster["id"].split("/")[4]   # /subscriptions/{s}/resourceGroups/{rg}/...
            text = render(endpoint, cluster["name"], group, props["aadProfile"]["tenantID"])
            return self._kubeconfigs("clusterUser", text)
        if aad.local_accounts_disabled(props):
            raise self._static_credential_refused()   # without Entra integration the user credential is static
        return self._credentials(call, "clusterUser")

    def list_admin_credential(self, call):
        cluster = call.existing
        if cluster is not None and aad.local_accounts_disabled(cluster["properties"]):
            raise self._static_credential_refused()
        return self._credentials(call, "clusterAdmin")

    def _credentials(self, call, label):
        from ....k8s import kubeconfig

        cluster = call.existing
        if cluster is None:
            raise self.not_found(call)
        endpoint = call.app.kube.endpoint(cluster["id"]) or self._sync_hub(call.app, cluster)
        return self._kubeconfigs(label, kubeconfig(endpoint, cluster["name"]))

    @staticmethod
    def _kubeconfigs(label, text):
        return Response.json(200, {"kubeconfigs": [
            {"name": label, "value": base64.b64encode(text.encode()).decode("ascii")}]})
