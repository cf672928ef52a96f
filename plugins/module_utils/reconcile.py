# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired-versus-current helpers: compare a desired subset, merge tags, shape the diff."""

from __future__ import annotations


def normalize_location(location):
    """ARM reports ``eastus`` for ``East US``; compare in that form."""
    return location.replace(" ", "").lower() if location else location


def differences(desired, current, prefix=""):
    """Dotted paths of the keys in ``desired`` (a nested subset) whose values differ from ``current``.

    Keys whose desired value is ``None`` are "not managed" and skipped; dicts are compared key by key, anything
    else (lists included) as a whole.
    """
    current = current or {}
    paths = []
    for key, want in desired.items():
        if want is None:
            continue
        have = current.get(key)
        path = prefix + key
        if isinstance(want, dict) and isinstance(have, dict):
            paths.extend(differences(want, have, path + "."))
        elif want != have:
            paths.append(path)
    return paths


def deep_merge(base, overlay):
    """A copy of ``base`` with ``overlay``'s non-None values merged in (recursively for dicts)."""
    merged = dict(base or {})
    for key, value in overlay.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merge_tags(current, desired, append=True):
    """Return ``(tags, changed)``: the tags to set so that ``desired`` holds.

    ``desired=None`` leaves tags alone; ``append=False`` removes tags not in ``desired``.
    """
    current = dict(current or {})
    if desired is None:
        return current, False
    result = dict(current) if append else {}
    result.update(desired)
    return result, result != current


def diff(before, after):
    """The ``diff`` return value Ansible renders with ``--diff``."""
    return {"before": before or {}, "after": after or {}}
