"""The route class of the web pages: an unexpected failure answers with the HTML error page
(the API's JSON 500 stays for /api/)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from central.core.http import log
from central.domain.errors import DomainError
from central.web.rendering import render
from contracts.errors import ErrorCode, message_es


class WebRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (DomainError, StarletteHTTPException, RequestValidationError):
                raise  # answered by the error pages installed in central.web.install
            except Exception:
                log.exception("unhandled error in web page", extra={"path": request.url.path})
                return render(
                    request,
                    "error.html",
                    {
                        "title": "Error interno",
                        "error_message": message_es(ErrorCode.INTERNAL),
                        "status": 500,
                    },
                    status=500,
                )

        return page_handler
