"""What users see of deliveries: sendTestWebhook's ping, webhookDeliveries with attempts (read in
a constant number of statements), and the warning of an endpoint disabled for failing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from gql_telephony.domain.ids import decode_id_of
from gql_telephony.storage.tables import WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow

from ..documents import ADD_NUMBER, VALID
from ..documents import CREATE as CREATE_CONFIG
from ..documents import UPDATE as UPDATE_CONFIG
from ..support import app_client, counting_statements, opaque_id
from .test_webhook_endpoints import LIST, SEND_TEST, UPDATE, codes, create, mutate

DELIVERIES = """query ($id: ID!, $first: Int, $after: String) { webhookDeliveries(endpointId: $id, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  nodes { id webhookId eventType isTest status attemptCount createdAt lastAttemptAt nextAttemptAt lastStatusCode
          lastError deliveredAt payload attempts { attemptedAt statusCode error durationMs } } } }"""
WARNINGS = """{ telephonyConfigWarnings { totalCount configsWithWarningsCount byCode { code count } } }"""
ATTEMPTS: sa.Table = WebhookAttemptRow.__table__
DELIVERY_ROWS: sa.Table = WebhookDeliveryRow.__table__
ENDPOINT_ROWS: sa.Table = WebhookEndpointRow.__table__


async def add_attempts(api, delivery_key: int, *codes_: int | None) -> None:
    """Attempts as the delivery worker records them (written here directly: the worker is not ours)."""
    at = datetime.now(UTC)
    async with api.runtime.db.writing() as session:
        for n, code in enumerate(codes_):
            await session.execute(sa.insert(ATTEMPTS).values(
                delivery_id=delivery_key, attempted_at=at + timedelta(seconds=n), status_code=code,
                error=None if code and code < 300 else "connection refused", duration_ms=12 + n,
            ))
        await session.execute(sa.update(DELIVERY_ROWS).where(DELIVERY_ROWS.c.id == delivery_key).values(
            attempt_count=len(codes_), last_attempt_at=at, last_status_code=codes_[-1],
            status="DELIVERED" if codes_[-1] == 200 else "PENDING",
            next_attempt_at=None if codes_[-1] == 200 else at + timedelta(seconds=10),
            delivered_at=at if codes_[-1] == 200 else None,
        ))


async def delivery_key(api, delivery_id: str) -> int:
    """A delivery's row id, from the id the API gave."""
    key = decode_id_of("WebhookDelivery", delivery_id)
    assert key is not None
    return key


async def test_a_test_ping_is_enqueued_due_now_and_shown_with_its_attempts(api):
    endpoint = (await create(api))["webhookEndpoint"]
    sent = await mutate(api, SEND_TEST, endpointId=endpoint["id"])
    assert sent["userErrors"] == []
    delivery = sent["delivery"]
    assert (delivery["eventType"], delivery["isTest"], delivery["status"], delivery["attemptCount"]) == (
        None, True, "PENDING", 0)
    assert delivery["webhookId"].startswith("msg_") and delivery["attempts"] == []
    payload = delivery["payload"]
    assert payload["type"] == "webhook.test" and payload["data"] == {"id": endpoint["id"]}
    assert payload["timestamp"].endswith("Z")
    assert datetime.fromisoformat(delivery["nextAttemptAt"]) <= datetime.now(UTC)

    key = await delivery_key(api, delivery["id"])
    async with api.runtime.db.reading() as session:
        row = (await session.execute(sa.select(DELIVERY_ROWS).where(DELIVERY_ROWS.c.id == key))).one()
    assert (row.event_type, row.status, row.message_id) == ("PING", "PENDING", delivery["webhookId"])
    assert row.endpoint_id == decode_id_of("WebhookEndpoint", endpoint["id"])

    await add_attempts(api, key, 503, None, 200)
    (shown,) = (await api.gql(DELIVERIES, {"id": endpoint["id"]}))["webhookDeliveries"]["nodes"]
    assert (shown["status"], shown["attemptCount"], shown["lastStatusCode"], shown["webhookId"]) == (
        "DELIVERED", 3, 200, delivery["webhookId"])
    assert shown["nextAttemptAt"] is None and shown["deliveredAt"] is not None
    assert [(a["statusCode"], a["error"], a["durationMs"]) for a in shown["attempts"]] == [
        (503, "connection refused", 12), (None, "connection refused", 13), (200, None, 14)]


async def test_deliveries_are_newest_first_in_pages_of_one_endpoint(api):
    endpoint = (await create(api))["webhookEndpoint"]
    other = (await create(api, "https://93.184.215.14/other"))["webhookEndpoint"]
    sent = [(await mutate(api, SEND_TEST, endpointId=endpoint["id"]))["delivery"]["id"] for _ in range(3)]
    await mutate(api, SEND_TEST, endpointId=other["id"])
    first = (await api.gql(DELIVERIES, {"id": endpoint["id"], "first": 2}))["webhookDeliveries"]
    assert [n["id"] for n in first["nodes"]] == sent[::-1][:2] and first["pageInfo"]["hasNextPage"] is True
    rest = (await api.gql(DELIVERIES, {"id": endpoint["id"], "first": 2,
                                       "after": first["pageInfo"]["endCursor"]}))["webhookDeliveries"]
    assert [n["id"] for n in rest["nodes"]] == sent[:1] and rest["pageInfo"]["hasNextPage"] is False
    assert first["totalCount"] == rest["totalCount"] == 3


async def test_deliveries_and_their_attempts_take_the_same_statements_for_one_or_many(api, settings):
    endpoint = (await create(api))["webhookEndpoint"]

    async def statements(caller) -> tuple[int, int]:
        with counting_statements(api.runtime) as seen:
            nodes = (await caller.gql(DELIVERIES, {"id": endpoint["id"]}))["webhookDeliveries"]["nodes"]
        assert all(node["attempts"] for node in nodes)
        return len(seen), sum(len(node["attempts"]) for node in nodes)

    async with app_client(settings, beside=api.runtime, compiled_plans=False, response_cache_mb=0) as other:
        generic = api.through(other)
        first = (await mutate(api, SEND_TEST, endpointId=endpoint["id"]))["delivery"]
        await add_attempts(api, await delivery_key(api, first["id"]), 500)
        planned = api.runtime.read_paths.planned
        one, _ = await statements(api)
        assert api.runtime.read_paths.planned == planned + 1  # a compiled plan answered it
        one_generic, _ = await statements(generic)
        for _ in range(9):
            delivery = (await mutate(api, SEND_TEST, endpointId=endpoint["id"]))["delivery"]
            await add_attempts(api, await delivery_key(api, delivery["id"]), 500, 502, 200)
        assert await statements(api) == (one, 28)
        assert await statements(generic) == (one_generic, 28)


async def test_another_organizations_deliveries_are_null(api):
    endpoint = (await create(api))["webhookEndpoint"]
    await mutate(api, SEND_TEST, endpointId=endpoint["id"])
    _, other_key = await api.new_org()
    for endpoint_id in (endpoint["id"], "nonsense", opaque_id("TelephonyConfig:1")):
        assert (await api.gql(DELIVERIES, {"id": endpoint_id}, key=other_key)) == {"webhookDeliveries": None}


async def test_a_disabled_endpoint_is_not_pinged(api):
    endpoint = (await create(api))["webhookEndpoint"]
    await mutate(api, UPDATE, id=endpoint["id"], enabled=False)
    refused = await mutate(api, SEND_TEST, endpointId=endpoint["id"])
    assert codes(refused) == [(["input", "endpointId"], "INVALID")] and refused["delivery"] is None


async def disable_for_failing(api, endpoint_id: str) -> None:
    """What the delivery worker does after a day of failures, in a unit of work (which bumps the
    organization's data version: cached responses showing the old warnings are not served again)."""
    from gql_telephony.services.unit_of_work import writing  # noqa: PLC0415

    now = datetime.now(UTC)
    async with writing(api.runtime.db, api.org_id) as session:
        await session.execute(sa.update(ENDPOINT_ROWS).where(
            ENDPOINT_ROWS.c.id == decode_id_of("WebhookEndpoint", endpoint_id)
        ).values(enabled=False, disabled_reason="FAILING", disabled_at=now, failing_since=now - timedelta(days=1)))


async def test_an_endpoint_disabled_for_failing_warns_until_it_is_re_enabled(api):
    endpoint = (await create(api))["webhookEndpoint"]
    await create(api, "https://93.184.215.14/healthy")
    assert (await api.gql(WARNINGS))["telephonyConfigWarnings"] == {
        "totalCount": 0, "configsWithWarningsCount": 0, "byCode": []}
    await disable_for_failing(api, endpoint["id"])
    assert (await api.gql(WARNINGS))["telephonyConfigWarnings"] == {
        "totalCount": 1, "configsWithWarningsCount": 0, "byCode": [{"code": "WEBHOOK_ENDPOINT_DISABLED", "count": 1}]}
    shown = (await api.gql(LIST))["webhookEndpoints"]["nodes"]
    assert [(n["disabledReason"], [w["code"] for w in n["warnings"]]) for n in shown] == [
        ("FAILING", ["WEBHOOK_ENDPOINT_DISABLED"]), (None, [])]
    assert shown[0]["warnings"][0]["severity"] == "CRITICAL" and shown[0]["failingSince"] is not None
    # The generic executor sees it too.
    async with app_client(api.runtime.settings, beside=api.runtime, compiled_plans=False, response_cache_mb=0) as other:
        assert (await api.through(other).gql(WARNINGS))["telephonyConfigWarnings"]["totalCount"] == 1

    enabled = (await mutate(api, UPDATE, id=endpoint["id"], enabled=True))["webhookEndpoint"]
    assert (enabled["enabled"], enabled["disabledReason"], enabled["failingSince"], enabled["warnings"]) == (
        True, None, None, [])
    assert (await api.gql(WARNINGS))["telephonyConfigWarnings"]["totalCount"] == 0


async def test_a_user_disabled_endpoint_raises_no_warning(api):
    endpoint = (await create(api))["webhookEndpoint"]
    await mutate(api, UPDATE, id=endpoint["id"], enabled=False)
    assert (await api.gql(WARNINGS))["telephonyConfigWarnings"]["totalCount"] == 0


async def test_re_enabling_a_failing_endpoint_announces_the_warning_change_to_subscribers(api):
    watcher = (await create(api, "https://93.184.215.14/watcher", events=["WARNINGS_CHANGED"]))["webhookEndpoint"]
    failing = (await create(api))["webhookEndpoint"]
    await disable_for_failing(api, failing["id"])
    # The worker's own write announces the disabling (not ours); here the digest is brought up to date
    # as its record() would leave it.
    from gql_telephony.services import audit  # noqa: PLC0415

    async with api.runtime.db.writing() as session:
        await audit.reset_warnings_digest(session, api.runtime.vault, org_id=api.org_id)
    await mutate(api, UPDATE, id=failing["id"], enabled=True)
    async with api.runtime.db.reading() as session:
        rows = (await session.execute(sa.select(DELIVERY_ROWS.c.endpoint_id, DELIVERY_ROWS.c.event_type))).all()
    assert [(row.endpoint_id, row.event_type) for row in rows] == [
        (decode_id_of("WebhookEndpoint", watcher["id"]), "WARNINGS_CHANGED")]


async def test_a_failing_listener_re_enabled_still_announces_the_change_to_the_others(api):
    watcher = (await create(api, "https://93.184.215.14/watcher", events=["WARNINGS_CHANGED"]))["webhookEndpoint"]
    failing = (await create(api, events=["WARNINGS_CHANGED"]))["webhookEndpoint"]
    await disable_for_failing(api, failing["id"])
    from gql_telephony.services import audit  # noqa: PLC0415

    async with api.runtime.db.writing() as session:
        await audit.reset_warnings_digest(session, api.runtime.vault, org_id=api.org_id)
    await mutate(api, UPDATE, id=failing["id"], enabled=True)
    async with api.runtime.db.reading() as session:
        rows = (await session.execute(sa.select(DELIVERY_ROWS.c.endpoint_id, DELIVERY_ROWS.c.event_type))).all()
    assert sorted((row.endpoint_id, row.event_type) for row in rows) == sorted(
        (decode_id_of("WebhookEndpoint", e["id"]), "WARNINGS_CHANGED") for e in (watcher, failing))


async def test_the_first_listener_hears_of_no_earlier_change(api):
    endpoint = (await create(api, events=["PHONE_NUMBER_ADDED"]))["webhookEndpoint"]
    await disable_for_failing(api, endpoint["id"])  # the summary moves while nobody listens
    await mutate(api, UPDATE, id=endpoint["id"], enabled=True, events=["WARNINGS_CHANGED"])
    async with api.runtime.db.reading() as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(DELIVERY_ROWS))).scalar_one() == 0


async def test_a_write_wakes_the_sender_only_when_it_queued_a_delivery(api):
    """Most organizations have no endpoint: their writes must not send this process's sender to
    the database for nothing (it still polls, for other processes' deliveries and retries)."""
    wake = api.runtime.delivery_worker._wake  # the lifespan is not run here: nothing clears it but us
    wake.clear()
    config = (await api.gql(CREATE_CONFIG, {"input": {
        "name": "Quiet", "provider": "TWILIO", "config": VALID["TWILIO"]}}))["createTelephonyConfig"]["telephonyConfig"]
    await api.gql(UPDATE_CONFIG, {"input": {"id": config["id"], "name": "Still quiet"}})
    assert not wake.is_set()

    await create(api, events=["TELEPHONY_CONFIG_UPDATED"])
    wake.clear()
    await api.gql(ADD_NUMBER, {"input": {"telephonyConfigId": config["id"], "phoneNumber": "+14155550101"}})
    assert not wake.is_set()  # an event nobody asked for queues nothing
    await api.gql(UPDATE_CONFIG, {"input": {"id": config["id"], "name": "Heard"}})
    assert wake.is_set()
    async with api.runtime.db.reading() as session:
        queued = (await session.execute(sa.select(sa.func.count()).select_from(DELIVERY_ROWS))).scalar_one()
    assert queued == 1


async def test_a_write_looks_up_endpoints_only_where_one_is_enabled(api):
    """On SQLite the data version's bump tells whether any endpoint is enabled; the writes of an
    organization with none then skip the look-up, and with one they still queue its delivery.
    PostgreSQL keeps the look-up (services/unit_of_work.py says why)."""
    config = (await api.gql(CREATE_CONFIG, {"input": {
        "name": "Quiet", "provider": "TWILIO", "config": VALID["TWILIO"]}}))["createTelephonyConfig"]["telephonyConfig"]

    def looked_up(statements: list[str]) -> bool:
        return any(s.lstrip().upper().startswith("SELECT") and "FROM webhook_endpoint" in s for s in statements)

    with counting_statements(api.runtime) as statements:
        await api.gql(UPDATE_CONFIG, {"input": {"id": config["id"], "name": "Still quiet"}})
        await api.gql(ADD_NUMBER, {"input": {"telephonyConfigId": config["id"], "phoneNumber": "+14155550101"}})
    assert looked_up(statements) is not api.runtime.db.is_sqlite

    await create(api, events=["TELEPHONY_CONFIG_UPDATED"])
    with counting_statements(api.runtime) as statements:
        await api.gql(UPDATE_CONFIG, {"input": {"id": config["id"], "name": "Heard"}})
    assert looked_up(statements)
    async with api.runtime.db.reading() as session:
        queued = (await session.execute(
            sa.select(DELIVERY_ROWS.c.event_type).where(DELIVERY_ROWS.c.event_type != "PING")
        )).scalars().all()
    assert queued == ["TELEPHONY_CONFIG_UPDATED"]
