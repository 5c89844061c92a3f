"""CORS for the origins of GQL_TELEPHONY_ALLOWED_ORIGINS, with every refused preflight logged.

A browser shows a refused preflight as a bare network error, and the page's script cannot read
why: the server's log is where an operator finds out which origin to add."""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

logger = logging.getLogger("gql_telephony.cors")


class LoggedCORS(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 200:
            origin = request_headers.get("origin", "")[:100]
            if not self.is_allowed_origin(origin):
                logger.warning("refused a CORS preflight from Origin %r: the origin is not in "
                               "GQL_TELEPHONY_ALLOWED_ORIGINS", origin)
            else:  # the origin is listed; the method or a header is not
                logger.warning("refused a CORS preflight from Origin %r for method %r and headers %r: only GET and "
                               "POST, and the headers this API reads, are allowed", origin,
                               request_headers.get("access-control-request-method", "")[:20],
                               request_headers.get("access-control-request-headers", "")[:200])
        return response
