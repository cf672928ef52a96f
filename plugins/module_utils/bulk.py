# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one bulk driver: many items in one task, every item planned before the first write.

A module describes its items (``items_from_params``), plans each one (``plan_all``: reads and pure decisions, no
write; a refusal names the item and nothing has been written) and applies the plans in order (``apply_all``). When an
item fails mid-way the error carries the partial result (see ``docs/results.md``): which items were written, which
were already as asked, which one failed and which were not attempted, and ``changed`` true when anything was
written.
"""

from __future__ import annotations

from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError


class Item:
    """One item of a task: its options, the label its messages start with (None in the single form), the key that
    names it in diffs and partial results, and its index in the list option (None in the single form)."""

    __slots__ = ("options", "label", "key", "index")

    def __init__(self, options, label=None, key=None, index=None):
        self.options, self.label, self.key, self.index = options, label, key, index

    def __getitem__(self, name):
        return self.options[name]

    def get(self, name, default=None):
        return self.options.get(name, default)

    @property
    def name(self):
        """How partial results name the item."""
        return self.label or self.key


def label(option, index, *parts):
    """``<option>[i] (<rg>/<name>)``: the one label format (parts that are unset are left out)."""
    known = "/".join(str(p) for p in parts if p)
    return "%s[%d] (%s)" % (option, index, known) if known else "%s[%d]" % (option, index)


def resource_key(options):
    """``<rg>/<name>`` of an item (what is known of it)."""
    return "/".join(str(options[k]) for k in ("resource_group", "name") if options.get(k))


def is_unset(value):
    return value is None or value == ""


def item_options(top, item, keys):
    """One item of a bulk option: its own value of each key in ``keys``, else the top-level option's value (which
    carries the single form's default). An empty string counts as unset; other falsy values (false, [], 0) win."""
    return {key: top.get(key) if is_unset(item.get(key)) else item[key] for key in keys}


def items_from_params(params, list_option, keys, key_of=resource_key):
    """The task's items: the list option's entries with unset keys taken from the top-level options, or the single
    item the top-level options describe (unlabelled, so its messages keep their plain form)."""
    entries = params.get(list_option)
    if entries is None:
        options = {k: params.get(k) for k in keys}
        return [Item(options, key=key_of(options))]
    items = []
    for index, entry in enumerate(entries):
        options = item_options(params, entry, keys)
        key = key_of(options)
        items.append(Item(options, label(list_option, index, key), key, index))
    return items


def duplicates(items, identity):
    """``(item, earlier item)`` for each item whose ``identity(item)`` was already listed."""
    seen, found = {}, []
    for item in items:
        key = identity(item)
        if key in seen:
            found.append((item, seen[key]))
        else:
            seen[key] = item
    return found


def plan_all(items, plan, *extra):
    """``plan(item, *extra_i)`` for every item, in order (``extra`` are lists parallel to ``items``, such as an
    earlier step's plans); a ModuleError is re-raised with the item's label."""
    plans = []
    for item, *values in zip(items, *extra):
        try:
            plans.append(plan(item, *values))
        except ModuleError as exc:
            raise exc.labelled(item.label)
    return plans


def apply_all(module, items, plans, apply, list_option=None, entry=None, own_failure=None):
    """``apply(item, plan)`` in order; each returns the item's result with ``changed``. A failure is re-raised with
    the item's label and the partial result (``entry(result)`` of each item done goes under ``list_option``).

    ``own_failure(error)`` says which failures are the item's alone (a principal that never replicated, a name taken
    elsewhere in Azure): those do not stop the items after it; the task fails at the end, listing every one."""
    results, failures, writes_before = [], [], module.writes
    for position, (item, planned) in enumerate(zip(items, plans)):
        try:
            results.append(apply(item, planned))
        except ModuleError as exc:
            exc.labelled(item.label)
            if own_failure is not None and own_failure(exc):
                failures.append((item, exc))
                results.append(dict(changed=False, failed=True))
                continue
            raise exc.with_result(**failure_result(items, results + [dict(changed=False, failed=True)], item,
                                                   items[position + 1:], module.writes > writes_before,
                                                   list_option, entry))
    if failures:
        first_item, first = failures[0]
        error = ModuleError("%d of %d items failed, the others were converged: %s" % (
            len(failures), len(items), " | ".join(exc.msg for _item, exc in failures)),
            error_code=first.error_code, status_code=first.status_code, hint=first.hint, action=first.action,
            cause=first.cause)
        raise error.with_result(**failure_result(items, results, first_item, [], module.writes > writes_before,
                                                 list_option, entry))
    return results


def failure_result(items, results, failed_item, not_attempted, wrote, list_option=None, entry=None):
    """The partial result of a failed task: ``results`` of the items attempted, in order (an item that failed is
    ``{"failed": True}``), the item the message names and the items not attempted."""
    pairs = list(zip(items, results))
    values = dict(changed=wrote or any(r.get("changed") for r in results),
                  written=[i.name for i, r in pairs if r.get("changed") and not r.get("failed")],
                  unchanged=[i.name for i, r in pairs if not r.get("changed") and not r.get("failed")],
                  failed_items=[i.name for i, r in pairs if r.get("failed")], failed_item=failed_item.name,
                  not_attempted=[i.name for i in not_attempted])
    if list_option:
        values[list_option] = [entry(r) if entry else r for r in results if not r.get("failed")]
    return values


def bulk_result(items, results, list_option):
    """The bulk form's result: ``changed``, one ``diff`` keyed by each item's key, and the items' results (without
    their own diffs) under ``list_option``."""
    before = {i.key: r["diff"]["before"] for i, r in zip(items, results)}
    after = {i.key: r["diff"]["after"] for i, r in zip(items, results)}
    entries = [without_diff(r) for r in results]
    return {"changed": any(r["changed"] for r in results), "diff": dict(before=before, after=after),
            list_option: entries}


def without_diff(result):
    """An item's result as its bulk entry: everything but its own diff."""
    return {k: v for k, v in result.items() if k != "diff"}
