"""Property-based fuzzing of the API from its own OpenAPI spec (schemathesis): no 5xx, every response matches its schema."""
from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from skillmatch.api import ApiSettings, create_app

# The spec does not depend on the model, so it is read from an app that is never started.
SCHEMA = schemathesis.openapi.from_dict(create_app(ApiSettings(models_dir=Path("unused"))).openapi())


@SCHEMA.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_no_server_error_and_every_response_matches_its_schema(case, client):
    """Sent to a running app with a model loaded, through the same ASGI client as the other tests."""
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    response = client.request(**{k: v for k, v in kwargs.items() if k in ("method", "url", "headers", "params",
                                                                          "json", "content")})
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                              content_type_conformance])
