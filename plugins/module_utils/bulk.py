# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the modules whose list option (the bulk form) converges many resources in one run."""

from __future__ import annotations


def item_options(top, item, keys):
    """One item of a bulk option: its own value of each key in ``keys``, else the top-level option's value (which
    carries the single form's default)."""
    return {key: item[key] if item.get(key) is not None else top.get(key) for key in keys}
