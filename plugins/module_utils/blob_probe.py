# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's data-plane calls on one container, through an azure-storage-blob ContainerClient (the same calls
are cross-checked against Azurite in the tests). Raises azure-core's HttpResponseError as the SDK does."""

from __future__ import annotations

import uuid

PROBE_PREFIX = ".keyless-doctor/probe-"


def blob_probe(client, write=False, count=None):
    """List one blob; with ``write``, write a small blob and delete it. Returns what was done, in order.
    ``count(n)`` is told of each request made (n at a time)."""
    count = count or (lambda n: None)
    done = []
    count(1)
    page = next(client.list_blobs(results_per_page=1).by_page(), [])
    done.append("list blobs (%d shown)" % len(list(page)))
    if write:
        name = PROBE_PREFIX + uuid.uuid4().hex[:12]
        count(1)
        client.upload_blob(name, b"keyless.aks_storage doctor probe\n", overwrite=True)
        count(1)
        client.delete_blob(name)
        done.append("write and delete %s" % name)
    return done
