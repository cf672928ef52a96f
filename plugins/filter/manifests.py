# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which rendered manifests the cluster does not already hold, so a re-run sends nothing for converged objects."""

from __future__ import annotations


def _contains(desired, live):
    """Whether ``live`` holds every value ``desired`` sets (dicts key by key, lists item by item, scalars equal)."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(_contains(v, live.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        return (isinstance(live, list) and len(desired) == len(live)
                and all(_contains(d, item) for d, item in zip(desired, live)))
    return desired == live


def _key(obj):
    meta = obj.get("metadata") or {}
    return obj.get("kind"), meta.get("namespace") or "", meta.get("name")


def unconverged(manifests, live, skip=None):
    """The manifests missing from ``live`` (objects read from the cluster) or differing from their live copy.

    ``skip``: "namespace/name" keys of live objects to treat as missing (for example failed Jobs just deleted).
    Server-set fields (status, uid, defaults) are ignored: only what a manifest sets is compared.
    """
    gone = {("Job",) + tuple(key.split("/", 1)) for key in skip or []}
    by_key = {_key(obj): obj for obj in live or [] if _key(obj) not in gone}
    return [m for m in manifests or [] if not _contains(m, by_key.get(_key(m)))]


class FilterModule:
    def filters(self):
        return {"unconverged": unconverged}
