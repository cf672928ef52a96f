"""A minimal Azure Blob data plane per emulated storage account (tests only): one blob store, one RBAC check.

- `store`: the blob records of a container (the container's private data in the ARM store, so the Job kubelet's
  probe blobs and data-plane blobs are the same objects);
- `access`: which data actions a principal's role assignments allow at a scope (also used by the kubelet chain);
- `service`: the HTTP operations under `https://127.0.0.1:PORT/_storage/{account}/blob/...`.
"""
