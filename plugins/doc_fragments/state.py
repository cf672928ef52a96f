# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The present/absent option shared by every module that manages resources."""

    DOCUMENTATION = r"""
options:
  state:
    description:
      - Whether the resource should exist (V(present)) or not (V(absent)).
      - In the bulk form, the default of every item's C(state).
    type: str
    choices: [present, absent]
    default: present
"""
