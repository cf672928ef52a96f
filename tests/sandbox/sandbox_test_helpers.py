"""Helpers shared by the sandbox tests (a unique module name: no clash with other conftest/helpers)."""

import json
import os
import ssl
import time
import urllib.error
import urllib.request

from azure.core.credentials import AccessToken

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class StaticToken:
    """A credential handing out a fixed token string (to send tokens ARM must refuse)."""

    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, int(time.time()) + 3600)


def raw_arm(conn, method, path, token=None, body=None):
    """A plain HTTPS call to the sandbox ARM URL: (status, headers, body bytes)."""
    request = urllib.request.Request(conn["arm_url"] + path.lstrip("/"), method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    context = ssl.create_default_context(cafile=conn["ca_file"])
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get_json(conn, url):
    context = ssl.create_default_context(cafile=conn["ca_file"])
    try:
        with urllib.request.urlopen(url, context=context, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
