"""GraphiQL, adjusted so that subscriptions authenticate with the key in its headers pane.

Strawberry's page makes one fetcher at load time, whose WebSocket sends an empty
connection_init payload; this server wants the key there. The page is patched to make the
fetcher again whenever the headers change, passing them as the connection parameters.
"""

from __future__ import annotations

_FETCHER_FACTORY = """
      function fetcherFor(headersText) {
        let connectionParams = {};
        try { connectionParams = JSON.parse(headersText || "{}"); } catch (error) {}
        return GraphiQL.createFetcher({
          url: fetchURL, headers: defaultHeaders, subscriptionUrl, wsConnectionParams: connectionParams,
        });
      }

      function GraphiQLWithExplorer() {"""

_PATCHES = (
    ("\n      function GraphiQLWithExplorer() {", _FETCHER_FACTORY),
    ("fetcher: fetcher,", "fetcher: React.useMemo(() => fetcherFor(headers), [headers]),"),
)


def with_subscription_auth(page: str) -> str:
    for anchor, replacement in _PATCHES:
        if page.count(anchor) != 1:
            raise RuntimeError("Strawberry's GraphiQL page changed: update api/graphiql.py")
        page = page.replace(anchor, replacement)
    return page
