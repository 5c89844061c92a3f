from .fixtures import CREATE, DASHBOARD, VALID, add_number, create_config


async def test_create_and_read_back(api):
    payload = await create_config(api, "TWILIO", "Main Twilio", default=True)
    config = payload["telephonyConfig"]
    assert config["config"]["account_sid"].startswith("*")
    number = await add_number(api, config["id"], "+1 (415) 555-0100")
    assert number["userErrors"] == [], number
    data = await api.gql(DASHBOARD)
    print(data)
