# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The tag options shared by the modules whose resources carry Azure tags."""

    DOCUMENTATION = r"""
options:
  tags:
    description:
      - Tags the resource must carry. Left unmanaged when omitted.
      - In the bulk form, the default of every item's C(tags).
    type: dict
  append_tags:
    description:
      - When V(true), tags not in O(tags) are kept; when V(false) they are removed.
      - In the bulk form, the default of every item's C(append_tags).
    type: bool
    default: true
"""
