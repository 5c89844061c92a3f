"""The body size limit: a body over it is refused with 413, whether its length is announced or
it is streamed; one just under it is served."""

from __future__ import annotations

import json

from gql_telephony.api.middleware.body_limit import MAX_BODY_BYTES

from ...support import bearer


async def test_body_over_one_mebibyte_is_refused_with_413(api):
    query = "{ telephonyProviders { key } }"
    padding = " " * (MAX_BODY_BYTES + 10)
    response = await api.client.post(
        "/graphql", content=json.dumps({"query": query + padding}),
        headers=bearer(api.key, **{"content-type": "application/json"}),
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_body_without_length_is_counted_while_streaming(api):
    async def chunks():
        for _ in range(20):
            yield b" " * (64 * 1024)

    response = await api.client.post(
        "/graphql", content=chunks(), headers=bearer(api.key, **{"content-type": "application/json"}),
    )
    assert response.status_code == 413


async def test_body_just_under_the_limit_is_served(api):
    query = "{ telephonyProviders { key } }"
    body = json.dumps({"query": query + " " * (MAX_BODY_BYTES - 200)})
    response = await api.client.post(
        "/graphql", content=body, headers=bearer(api.key, **{"content-type": "application/json"}),
    )
    # Over the token limit? No: whitespace is not a token.
    assert response.status_code == 200, response.text[:300]
    assert len(response.json()["data"]["telephonyProviders"]) == 9
