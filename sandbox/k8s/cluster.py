"""One emulated cluster: its identity, token and object store (filled in by objects.py)."""

import secrets
import time


class KubeCluster:
    def __init__(self, cluster_id, slug, store, *, kubernetes_version, oidc_issuer_url=None, token=None,
                 created=None):
        self.id = cluster_id
        self.slug = slug
        self.store = store   # the app Store: its lock guards this cluster too
        self.kubernetes_version = kubernetes_version
        self.oidc_issuer_url = oidc_issuer_url
        self.token = token or secrets.token_urlsafe(32)
        self.created = created or time.time()

    def dump(self) -> dict:
        return {"id": self.id, "slug": self.slug, "token": self.token, "created": self.created,
                "kubernetes_version": self.kubernetes_version, "oidc_issuer_url": self.oidc_issuer_url}

    @classmethod
    def restore(cls, data: dict, store) -> "KubeCluster":
        return cls(data["id"], data["slug"], store, kubernetes_version=data["kubernetes_version"],
                   oidc_issuer_url=data.get("oidc_issuer_url"), token=data["token"], created=data.get("created"))
