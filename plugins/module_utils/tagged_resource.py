# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The present/absent flow of resources whose managed settings are their location and tags.

Resource groups and managed identities share it, one resource or many in one module run: every item is read and
planned first (a location change, a missing location or any other refusal fails before anything is written), then
the plans are applied in order. Each resource is read once, written only when its tags differ or it is missing, and
never written in check mode.
"""

from __future__ import annotations

from ansible_collections.keyless.aks_storage.plugins.module_utils.bulk import item_options
from ansible_collections.keyless.aks_storage.plugins.module_utils.reconcile import (
    diff, merge_tags, normalize_location)

DIFF_KEYS = ("name", "location", "tags")


class PlanError(Exception):
    """The item cannot be converged as asked; nothing has been written."""


class Operations:
    """What a module supplies for its resource type. ``item`` is a dict of the item's options."""

    kind = "resource"

    def read(self, item):
        """The current summary dict of the resource, or None."""
        raise NotImplementedError

    def default_location(self, item):
        """Location of a new resource whose item sets none (None: location is required)."""
        return None

    def check_delete(self, item, current):
        """Raise PlanError when ``current`` must not be deleted as asked (reads only)."""

    def create(self, item, location, tags):
        raise NotImplementedError

    def update(self, item, tags):
        raise NotImplementedError

    def delete(self, item):
        raise NotImplementedError

    def unknown(self, item):
        """The return values of a resource that does not exist (yet)."""
        return dict(id=None, name=item["name"])


def diff_view(view):
    return {k: view.get(k) for k in DIFF_KEYS} if view else {}


def plan(ops, item):
    """Read ``item`` and decide what to do: {item, action (create/update/delete/None), before, after, ...}."""
    current = ops.read(item)
    name = item["name"]
    if item["state"] == "absent":
        if current is not None:
            ops.check_delete(item, current)
        return dict(item=item, action="delete" if current else None, before=current, after=None)
    location = normalize_location(item.get("location") or (None if current else ops.default_location(item)))
    if current is None:
        if not location:
            raise PlanError("location is required to create %s %s" % (ops.kind, name))
        tags = dict(item.get("tags") or {})
        return dict(item=item, action="create", location=location, tags=tags, before=None,
                    after=dict(ops.unknown(item), name=name, location=location, tags=tags))
    if location and location != normalize_location(current["location"]):
        raise PlanError("%s %s is in %s and cannot move to %s; keep location %s or remove it first"
                        % (ops.kind, name, current["location"], location, current["location"]))
    tags, changed = merge_tags(current["tags"], item.get("tags"), item.get("append_tags", True))
    return dict(item=item, action="update" if changed else None, tags=tags, before=current,
                after=dict(current, tags=tags))


def apply(ops, planned, check_mode):
    """Carry out one plan; returns the item's return values plus ``changed`` and ``diff``."""
    item, action = planned["item"], planned["action"]
    after = planned["after"]
    if not check_mode:
        if action == "create":
            after = ops.create(item, planned["location"], planned["tags"])
        elif action == "update":
            after = ops.update(item, planned["tags"])
        elif action == "delete":
            ops.delete(item)
    values = after if after is not None else ops.unknown(item)
    return dict(values, changed=action is not None,
                diff=diff(diff_view(planned["before"]), diff_view(after)))


def converge(module, ops, items):
    """Plan every item (failing before any write), then apply them in order; returns the per-item results."""
    plans = []
    for item in items:
        try:
            plans.append(plan(ops, item))
        except PlanError as exc:
            module.fail_json(msg=str(exc))
    return [apply(ops, p, module.check_mode) for p in plans]


def items_from_params(params, list_option, item_keys):
    """The items to converge: the list option's entries with unset keys taken from the top-level options, or the
    single resource the top-level options describe."""
    entries = params.get(list_option)
    if entries is None:
        return [{k: params.get(k) for k in item_keys}]
    return [item_options(params, entry, item_keys) for entry in entries]


def exit_converged(module, ops, items, list_option, key):
    """Converge ``items`` and exit: flat return values for the single form, a list under ``list_option`` (with a
    diff keyed by ``key(item)``) for the bulk form."""
    results = converge(module, ops, items)
    if module.params.get(list_option) is None:
        module.exit_json(**results[0])
    before, after = {}, {}
    for item, result in zip(items, results):
        before[key(item)] = result["diff"]["before"]
        after[key(item)] = result["diff"]["after"]
    entries = [{k: v for k, v in r.items() if k != "diff"} for r in results]
    module.exit_json(changed=any(r["changed"] for r in results), diff=dict(before=before, after=after),
                     **{list_option: entries})
