# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The present/absent flow of a resource whose managed settings are its location and tags.

Resource groups and managed identities share it: read once, refuse a location change (ARM cannot move them), write
tags only when they differ, skip writes in check mode, return ``diff`` of name/location/tags.
"""

from __future__ import annotations

from ansible_collections.keyless.aks_storage.plugins.module_utils.reconcile import (
    diff, merge_tags, normalize_location)

DIFF_KEYS = ("name", "location", "tags")


def diff_view(view):
    return {k: view.get(k) for k in DIFF_KEYS} if view else {}


def ensure_absent(module, current, delete, unknown):
    """Delete ``current`` (a summary dict or None) unless in check mode, then exit."""
    if current and not module.check_mode:
        delete()
    module.exit_json(changed=current is not None, diff=diff(diff_view(current), None), **unknown)


def ensure_present(module, kind, current, location, create, update, unknown):
    """Create or update a location+tags resource, then exit.

    ``current``: summary dict or None; ``location``: desired location (already defaulted) or None;
    ``create(location, tags)`` / ``update(tags)``: perform the write and return the new summary;
    ``unknown``: the return values of a resource not yet created (check mode).
    """
    p = module.params
    name = unknown["name"]
    location = normalize_location(location)
    if current is None:
        if not location:
            module.fail_json(msg="location is required to create %s %s" % (kind, name))
        desired = dict(name=name, location=location, tags=dict(p["tags"] or {}))
        result = dict(unknown, **desired)
        if not module.check_mode:
            result = create(location, desired["tags"])
        module.exit_json(changed=True, diff=diff(None, diff_view(desired)), **result)

    if location and location != normalize_location(current["location"]):
        module.fail_json(msg="%s %s is in %s and cannot move to %s; keep location %s or remove it first"
                             % (kind, name, current["location"], location, current["location"]))
    tags, changed = merge_tags(current["tags"], p["tags"], p["append_tags"])
    result = dict(current, tags=tags)
    if changed and not module.check_mode:
        result = update(tags)
    module.exit_json(changed=changed, diff=diff(diff_view(current), diff_view(result)), **result)
