"""The dashboard (docs/DASHBOARD.md) in a real browser: Debian's chromium driven by Playwright,
against a real `gql-telephony serve` process, with nothing beyond loopback reachable.

    GQL_TELEPHONY_REQUIRE_SERVICES=1 .venv/bin/python -m pytest tests/browser -q

Without chromium or Playwright the tests skip (fail under GQL_TELEPHONY_REQUIRE_SERVICES=1).
Screenshots (1280x800 and 375x740) and the first load's measured weight and timings are written
to test-artifacts/dashboard/ (GQL_TELEPHONY_TEST_ARTIFACTS moves it); the run's summary says so."""
