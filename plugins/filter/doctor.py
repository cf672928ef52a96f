# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for playbooks/doctor.yml."""

from __future__ import annotations

from ansible_collections.keyless.aks_storage.plugins.module_utils.doctor import failing, line


def doctor_line(item):
    """A doctor link result as one sentence with its fix."""
    return line(item)


def doctor_failing(links, fail_on="fail"):
    """The links that fail a run gated at ``fail_on`` (fail, warn or never), as the module judges them."""
    return failing(links, fail_on)


class FilterModule:
    def filters(self):
        return {"doctor_line": doctor_line, "doctor_failing": doctor_failing}
