# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for playbooks/audit.yml."""

from __future__ import annotations

from ansible_collections.keyless.aks_storage.plugins.module_utils.audit_report import failing


def audit_failing(findings, fail_on="never"):
    """The findings that fail a run gated at ``fail_on`` (a severity, or never), as the module judges them."""
    return failing(findings, fail_on)


class FilterModule:
    def filters(self):
        return {"audit_failing": audit_failing}
