from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

from ansible_collections.keyless.aks_storage.plugins.module_utils import azure_errors


class _Error:
    def __init__(self, code, message):
        self.code, self.message = code, message


def _http_error(status, code, message):
    exc = HttpResponseError(message="Operation returned an invalid status")
    exc.status_code = status
    exc.error = _Error(code, message)
    return exc


def test_arm_error_carries_code_message_and_hint():
    text, fields = azure_errors.format_failure(
        "create identity x", _http_error(404, "ResourceGroupNotFound", "Resource group 'rg' could not be found."))
    assert text.startswith("Failed to create identity x: ResourceGroupNotFound: Resource group 'rg' could not")
    assert "keyless.aks_storage.resource_group" in text
    assert fields == {"error_code": "ResourceGroupNotFound", "status_code": 404, "hint": fields["hint"]}


def test_status_hint_when_code_unknown():
    _text, fields = azure_errors.format_failure("x", _http_error(429, "SomethingNew", "slow down"))
    assert "throttling" in fields["hint"]


def test_authentication_error_gets_auth_hint():
    text, fields = azure_errors.format_failure(
        "read identity", ClientAuthenticationError(message="AADSTS7000215: Invalid client secret provided."))
    assert "AADSTS7000215" in text
    assert fields["hint"] == azure_errors.AUTH_HINT


def test_connection_error_hint_and_whitespace_folding():
    text, fields = azure_errors.format_failure("read", ServiceRequestError("Connection\n   refused"))
    assert "Connection refused" in text
    assert "reached" in fields["hint"]


def test_unknown_error_has_no_hint():
    text, fields = azure_errors.format_failure("do", RuntimeError("boom"))
    assert text == "Failed to do: boom" and fields["hint"] is None


def test_token_service_outage_is_not_called_a_bad_secret():
    exc = ClientAuthenticationError(message="Authentication failed: HTTP Error: 503")
    assert azure_errors.http_status(exc) == 503
    _text, fields = azure_errors.format_failure("read identity", exc)
    assert fields["status_code"] == 503 and fields["hint"] == azure_errors.TOKEN_SERVICE_HINT % 503
    throttled = ClientAuthenticationError(message="Authentication failed: HTTP Error: 429")
    assert azure_errors.format_failure("x", throttled)[1]["hint"] == azure_errors.TOKEN_SERVICE_HINT % 429
    # a refusal (4xx) still points at the credential
    refused = ClientAuthenticationError(message="Authentication failed: HTTP Error: 401")
    assert azure_errors.format_failure("x", refused)[1]["hint"] == azure_errors.AUTH_HINT
