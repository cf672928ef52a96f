# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keyless dynamic provisioning with the blob CSI driver: the controller's identity and its least-privilege role.

Facts (kubernetes-sigs/blob-csi-driver v1.27.9, pkg/blob/controllerserver.go): with ``storageAccount`` given and
``mountWithWorkloadIdentityToken: "true"`` in the StorageClass, CreateVolume neither reads nor creates the account and
stores no key; it creates the container through ARM (blobContainers Create, PUT) as the controller identity, and
DeleteVolume deletes it through ARM (DELETE). ``useDataPlaneAPI: "true"`` would list the account keys instead.
The controller identity is the kubelet identity (the node's cloud config on AKS) unless the chart's
``workloadIdentity.clientID`` gives the controller ServiceAccount a workload identity.
"""

from __future__ import annotations

CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"
# The collection's custom role, assigned at the storage account to the controller identity.
ROLE_NAME = "Keyless Blob CSI Provisioner"
ROLE_DESCRIPTION = ("Lets the blob CSI driver's controller create, read and delete blob containers of a pre-created "
                    "keyless storage account (token-only dynamic provisioning); cannot list account keys or read data.")
ROLE_ACTIONS = ["Microsoft.Storage/storageAccounts/read", CONTAINERS + "/read", CONTAINERS + "/write",
                CONTAINERS + "/delete"]
# What CreateVolume and DeleteVolume call with a pre-created account (the role must permit both).
CREATE_ACTION, DELETE_ACTION = CONTAINERS + "/write", CONTAINERS + "/delete"
# The driver's controller, as the open-source chart names it (charts/latest/blob-csi-driver values.yaml).
CONTROLLER_DEPLOYMENT = "csi-blob-controller"
CONTROLLER_SERVICE_ACCOUNT = "csi-blob-controller-sa"
DRIVER_NAMESPACE = "kube-system"
# With workloadIdentity.clientID the chart annotates the controller ServiceAccount with the client ID and labels the
# controller's pods for the workload identity webhook, which injects the token only into labelled pods (v1.27.9,
# charts/latest/blob-csi-driver/templates/serviceaccount-csi-blob-controller.yaml and csi-blob-controller.yaml).
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
USE_LABEL = "azure.workload.identity/use"


def labelled_for_workload_identity(deployment):
    labels = ((((deployment or {}).get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")
    return (labels or {}).get(USE_LABEL) == "true"


def controller_identity(service_account, cluster_properties, deployment):
    """Which identity the controller calls ARM as: ``("workload_identity", client_id)`` when its ServiceAccount (a
    dict, or None) carries the client-id annotation and its Deployment's pods are labelled for the webhook, else
    ``("kubelet_identity", kubeletidentity block)`` from the managed cluster's ``identityProfile``, else None."""
    annotations = ((service_account or {}).get("metadata") or {}).get("annotations") or {}
    if annotations.get(CLIENT_ID_ANNOTATION) and labelled_for_workload_identity(deployment):
        return "workload_identity", annotations[CLIENT_ID_ANNOTATION]
    kubelet = ((cluster_properties or {}).get("identityProfile") or {}).get("kubeletidentity") or {}
    if kubelet.get("objectId"):
        return "kubelet_identity", kubelet
    return None
