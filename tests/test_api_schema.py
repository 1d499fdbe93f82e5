"""Schemathesis against the API's own OpenAPI document, on a live test server on
loopback: generated requests (valid and not) for every operation, a bounded number of
each, must get no 5xx and answers that the document describes."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from posts.models import ApiPolicy, Category, Product
from tests.test_api import make_token

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# Examples per operation (valid requests, then invalid ones: 20 in all), which bounds
# the run: some 30-50 s on two cores.
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}


@pytest.fixture
def secret(live_server, editorial_groups, settings):
    """An admin's token, and what the generated requests may refer to."""
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    Category.objects.create(name="AI Guide")
    Product.objects.create(name="RTX 4090", slug="rtx-4090", keyword="RTX 4090")
    # Generated remote covers would be fetched from whatever hosts the examples name.
    policy = ApiPolicy.load()
    policy.remote_cover = ApiPolicy.Mode.REFUSE
    policy.save()
    return make_token("admin", name="schemathesis", rate_per_minute=100_000)[1]


def test_the_api_answers_as_its_document_says(live_server, secret):
    # Operation by operation, with Hypothesis directly: schemathesis' pytest
    # parametrization does not work with pytest 9's nodes yet.
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {secret}"}
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
            def check(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            check()
            tested.append(f"{operation.method.upper()} {operation.path} {mode.value}")
    assert len(tested) >= 40, tested  # every operation was reached, in both modes
