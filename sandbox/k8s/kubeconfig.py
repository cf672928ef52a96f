"""kubeconfig text for an emulated cluster (also used by the AKS provider's listClusterUserCredential)."""

import base64
import json


def kubeconfig(endpoint, name: str) -> str:
    """A one-cluster, one-user kubeconfig (YAML) with the CA inline and a static bearer token."""
    with open(endpoint.ca_file, "rb") as handle:
        ca_data = base64.b64encode(handle.read()).decode("ascii")
    user = f"clusterUser_{name}"
    # JSON scalars are valid YAML scalars: quoting with json.dumps keeps any name safe without a YAML library.
    q = json.dumps
    return "\n".join([
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- cluster:",
        f"    certificate-authority-data: {ca_data}",
        f"    server: {q(endpoint.server)}",
        f"  name: {q(name)}",
        "contexts:",
        "- context:",
        f"    cluster: {q(name)}",
        f"    user: {q(user)}",
        f"  name: {q(name)}",
        f"current-context: {q(name)}",
        "preferences: {}",
        "users:",
        f"- name: {q(user)}",
        "  user:",
        f"    token: {q(endpoint.token)}",
        "",
    ])
