# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only Kubernetes access for the read-only modules, through the official ``kubernetes`` client (the library
kubernetes.core itself uses). Every read returns plain REST-shaped dicts; a 404 is None; anything else raises
``KubeError`` with the status and the API server's message, which the caller reports as an unknown link."""

from __future__ import annotations

import importlib
import json

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError

READ_TIMEOUT = 30  # seconds per request (connect and read)
PAGE_LIMIT = 500  # items per page of a chunked list (kubectl's default --chunk-size)
MAX_PAGES = 2000


class KubeError(Exception):
    def __init__(self, action, status, message):
        super().__init__("%s: %s%s" % (action, "HTTP %s: " % status if status else "", message))
        self.status = status


class KubeReader:
    """Lazily connected reads of one cluster, each counted in ``reads``."""

    def __init__(self, kubeconfig, context=None, config_dict=None):
        # ``config_dict``: a kubeconfig already parsed (credentials read from ARM, never written to disk)
        self.kubeconfig, self.context, self.config_dict = kubeconfig, context, config_dict
        self._api = None
        self.reads = 0
        self.token_requests = 0

    def _client(self):
        if self._api is None:
            try:
                kubernetes = importlib.import_module("kubernetes")
            except ImportError as exc:
                raise ModuleError(missing_required_lib("kubernetes"), cause=exc) from exc
            try:
                if self.config_dict is not None:
                    self._api = kubernetes.config.new_client_from_config_dict(self.config_dict, context=self.context)
                else:
                    self._api = kubernetes.config.new_client_from_config(config_file=self.kubeconfig,
                                                                         context=self.context)
            except Exception as exc:  # pylint: disable=broad-except
                raise KubeError("load kubeconfig %s" % (self.kubeconfig or "(from ARM)"), None, str(exc)) from exc
        return self._api

    def api(self, name):
        kubernetes = importlib.import_module("kubernetes")
        return getattr(kubernetes.client, name)(self._client())

    def call(self, action, api_name, method, *args, count=True, **kwargs):
        """One API call, counted in ``reads`` unless ``count`` is false; the result as a REST dict (None for a
        404)."""
        self.reads += 1 if count else 0
        result = self._invoke(action, api_name, method, (404,), *args, **kwargs)
        return None if result is None else self._client().sanitize_for_serialization(result)

    def _invoke(self, action, api_name, method, none_on, *args, **kwargs):
        """The client call; None for a status in ``none_on``, any other failure a KubeError."""
        from kubernetes.client.rest import ApiException
        api = self.api(api_name)
        kwargs.setdefault("_request_timeout", READ_TIMEOUT)
        try:
            return getattr(api, method)(*args, **kwargs)
        except ApiException as exc:
            if exc.status in none_on:
                return None
            raise KubeError(action, exc.status, _message(exc)) from exc
        except Exception as exc:  # pylint: disable=broad-except
            raise KubeError(action, None, str(exc)) from exc

    def get(self, action, api_name, method, *args):
        return self.call(action, api_name, method, *args)

    def items(self, action, api_name, method, *args, **kwargs):
        found = self.call(action, api_name, method, *args, **kwargs)
        return (found or {}).get("items") or []

    def list_pages(self, action, api_name, method, keep, limit=PAGE_LIMIT, max_pages=MAX_PAGES, **kwargs):
        """Every item of a list, read in chunks of ``limit`` (the API server's limit/continue), each page counted in
        ``reads``; ``keep(item)`` is what is kept of an item (the raw page is dropped as soon as it is read). The
        JSON is not turned into client models: big lists stay cheap. A continue token that expired (410) restarts
        the list once without chunks, as client-go's pager does."""
        items, token = [], None
        for _page in range(max_pages):
            page = self._raw_page(action, api_name, method, limit, token, **kwargs)
            if page is None:  # the token expired: read the whole list at once
                items = [keep(i) for i in (self._raw_page(action, api_name, method, 0, None, **kwargs) or {}).get(
                    "items") or []]
                return items
            items.extend(keep(i) for i in page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items
        raise KubeError(action, None, "more than %d pages of %d items" % (max_pages, limit))

    def _raw_page(self, action, api_name, method, limit, token, **kwargs):
        """One page as a dict, None when ``token`` expired (410)."""
        if limit:
            kwargs["limit"] = limit
        if token:
            kwargs["_continue"] = token
        self.reads += 1
        response = self._invoke(action, api_name, method, (410,) if token else (), _preload_content=False, **kwargs)
        if response is None:
            return None
        try:
            return json.loads(response.data)
        except ValueError as exc:
            raise KubeError(action, None, "the API server's answer is not JSON: %s" % exc) from exc

    def request_token(self, namespace, service_account, audience, seconds):
        """A TokenRequest for ``service_account`` (nothing is stored by the API server); the token, or None."""
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"audiences": [audience], "expirationSeconds": seconds}}
        self.token_requests += 1  # counted apart: a TokenRequest is neither a read nor a stored write
        result = self.call("request a token for service account %s/%s" % (namespace, service_account),
                           "CoreV1Api", "create_namespaced_service_account_token", service_account, namespace, body,
                           count=False)
        return ((result or {}).get("status") or {}).get("token")


def _message(exc):
    try:
        return json.loads(exc.body).get("message") or exc.reason
    except (TypeError, ValueError, AttributeError):
        return exc.reason
