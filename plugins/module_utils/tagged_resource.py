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

from ansible_collections.keyless.aks_storage.plugins.module_utils import bulk
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError
from ansible_collections.keyless.aks_storage.plugins.module_utils.reconcile import (
    diff, merge_tags, normalize_location)

DIFF_KEYS = ("name", "location", "tags")


class Operations:
    """What a module supplies for its resource type. ``item`` is a bulk.Item (or a dict) of the item's options."""

    kind = "resource"

    def read(self, item):
        """The current summary dict of the resource, or None."""
        raise NotImplementedError

    def default_location(self, item):
        """Location of a new resource whose item sets none; by default there is none: location is required. None
        when it is not known yet (check mode: a parent it comes from is not created yet)."""
        raise ModuleError("location is required to create %s %s" % (self.kind, item["name"]))

    def check_delete(self, item, current):
        """Raise ModuleError when ``current`` must not be deleted as asked (reads only)."""

    def check_new_location(self, location):
        """Refuse a location the subscription does not have, before anything is created."""
        self.module.check_location(location)

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
    """Read ``item`` and decide what to do: {action (create/update/delete/None), before, after, ...}."""
    planned = decide(ops, item, ops.read(item))
    if planned["action"] == "create" and planned["location"]:
        ops.check_new_location(planned["location"])
    return planned


def decide(ops, item, current):
    """The pure part of ``plan`` (``check_delete`` aside): what to do with ``item`` given ``current``."""
    name = item["name"]
    if item["state"] == "absent":
        if current is not None:
            ops.check_delete(item, current)
        return dict(action="delete" if current else None, before=current, after=None)
    location = normalize_location(item.get("location") or (None if current else ops.default_location(item)))
    if current is None:
        tags = dict(item.get("tags") or {})
        return dict(action="create", location=location, tags=tags, before=None,
                    after=dict(ops.unknown(item), name=name, location=location, tags=tags))
    if location and location != normalize_location(current["location"]):
        raise ModuleError("%s %s is in %s and cannot move to %s; keep location %s or remove it first"
                          % (ops.kind, name, current["location"], location, current["location"]))
    tags, changed = merge_tags(current["tags"], item.get("tags"), item.get("append_tags", True))
    return dict(action="update" if changed else None, tags=tags, before=current, after=dict(current, tags=tags))


def apply(ops, item, planned, check_mode):
    """Carry out one plan; returns the item's return values plus ``changed`` and ``diff``."""
    action = planned["action"]
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


def converge(module, ops, items, list_option=None):
    """Plan every item (failing before any write), then apply them in order; returns the per-item results."""
    plans = bulk.plan_all(items, lambda item: plan(ops, item))
    return bulk.apply_all(module, items, plans, lambda item, planned: apply(ops, item, planned, module.check_mode),
                          list_option, entry=bulk.without_diff)


def converged_result(module, ops, items, list_option):
    """Converge ``items``; the result is the single form's flat return values, or the bulk form's list under
    ``list_option`` with a diff keyed by each item's key."""
    bulk_form = module.params.get(list_option) is not None
    results = converge(module, ops, items, list_option if bulk_form else None)
    return bulk.bulk_result(items, results, list_option) if bulk_form else results[0]
