# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for playbooks/doctor.yml."""

from __future__ import annotations

from ansible_collections.keyless.aks_storage.plugins.module_utils.doctor import line


def doctor_line(item):
    """A doctor link result as one sentence with its fix."""
    return line(item)


class FilterModule:
    def filters(self):
        return {"doctor_line": doctor_line}
