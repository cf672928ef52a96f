# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded retries for ARM errors that azure-core's retry policy does not cover, and the one bounded wait.

azure-core already retries 408/429/5xx. Some 4xx are transient too: a new identity's principal is "not found" until
the directory has replicated it (``PrincipalNotFound``), and Azure rejects concurrent federated credential writes on
one identity (409 ``ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity``).
"""

from __future__ import annotations

import random
import time

from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_errors import error_code
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError

MAX_ATTEMPTS = 30


def retry_on_codes(fn, codes, timeout, first_delay=1.0, max_delay=15.0, sleep=time.sleep, clock=time.monotonic):
    """Call ``fn()``; while it raises an Azure error whose ARM code is in ``codes``, wait and call again.

    Bounded by ``timeout`` seconds and MAX_ATTEMPTS; exponential backoff with jitter. The last error is re-raised
    when the bound is reached, so the caller reports it.
    """
    deadline = clock() + timeout
    delay = first_delay
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return fn()
        except Exception as exc:  # pylint: disable=broad-except
            if error_code(getattr(exc, "cause", None) or exc) not in codes or attempt == MAX_ATTEMPTS:
                raise
            wait = min(delay, max_delay) * random.uniform(0.8, 1.2)
            if clock() + wait > deadline:
                raise
            sleep(wait)
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover


def wait_until(read, done, timeout, interval, timeout_message, sleep=time.sleep, clock=time.monotonic, first=None):
    """Call ``read()`` until ``done(value)``; return that value. ``first``, when given, is a value just read (the
    first poll then waits an interval before reading again).

    Bounded by ``timeout`` seconds of ``clock`` and by the number of polls that fit in it (so an injected clock that
    never moves cannot loop for ever). When the bound is reached, raises ModuleError(``timeout_message(value)``).
    """
    deadline = clock() + timeout
    value = read() if first is None else first
    for _poll in range(max(1, int(timeout // max(interval, 0.001)))):
        if done(value):
            return value
        if clock() + interval > deadline:
            break
        sleep(interval)
        value = read()
    if done(value):
        return value
    raise ModuleError(timeout_message(value))
