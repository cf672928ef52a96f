# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one error model.

Helpers, plans and SDK wrappers raise ``ModuleError``; nothing below a module's driver ends the process. The driver
(``AzureModule.run``) catches it once and fails the task with ``ModuleError.result()``: the message, the structured
fields (``error_code``, ``status_code``, ``hint``, ``action``), the traceback in ``exception`` and any partial result a
bulk run attached.
"""

from __future__ import annotations

from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_errors import format_failure

FIELDS = ("error_code", "status_code", "hint", "action")


class ModuleError(Exception):
    """A failure the task reports. ``result`` holds extra return values (for example what a bulk run wrote)."""

    def __init__(self, msg, error_code=None, status_code=None, hint=None, action=None, cause=None, result=None):
        super().__init__(msg)
        self.msg = msg
        self.error_code, self.status_code, self.hint, self.action = error_code, status_code, hint, action
        self.cause = cause
        self.result_values = dict(result or {})

    def labelled(self, label):
        """The same error with ``label: `` in front of its message (a bulk item's label; None leaves it as is)."""
        if label and not self.msg.startswith(label + ": "):
            self.msg = "%s: %s" % (label, self.msg)
            self.args = (self.msg,)
        return self

    def with_result(self, **values):
        self.result_values.update(values)
        return self

    def result(self):
        """The keyword arguments for ``fail_json``."""
        values = dict(self.result_values)
        values.update((key, getattr(self, key)) for key in FIELDS if getattr(self, key) is not None)
        # The exception object, not a string: ansible-core 2.19 keeps its traceback (shown with
        # ANSIBLE_DISPLAY_TRACEBACK=error, or in the result's ``exception``) and its cause chain.
        values.update(msg=self.msg, exception=self.cause if self.cause is not None else self)
        return values


class AzureError(ModuleError):
    """An Azure SDK call (ARM, Entra, a metadata endpoint) that failed, with its ARM code, HTTP status and a hint."""

    @classmethod
    def from_exception(cls, action, exc, hint=None):
        text, fields = format_failure(action, exc, hint)
        return cls(text, action=action, cause=exc, **fields)

    def result(self):
        # Azure failures always carry the three fields, null when unknown, as the modules always returned them.
        values = super().result()
        for key in ("error_code", "status_code", "hint"):
            values.setdefault(key, None)
        return values


def refuse(problems, label=None, error=ModuleError):
    """Raise one ``error`` (a ModuleError class) listing every problem found in an item's input (nothing when there
    is none)."""
    problems = [p for p in problems if p]
    if problems:
        raise error("; ".join(problems)).labelled(label)
