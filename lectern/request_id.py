"""Every request gets an id: taken from the proxy's X-Request-ID when it is a plain token,
made up otherwise, put in every log line of the request and sent back in the response."""

from __future__ import annotations

import re
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from lectern.logging import request_id_var

HEADER = "X-Request-ID"
# What a proxy may pass on (nginx's $request_id is 32 hex digits); anything else could
# forge log lines, so it is replaced.
_ACCEPTED = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_for(incoming: str | None) -> str:
    if incoming and _ACCEPTED.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE, so every later log line of the request carries the id."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        token = self._start(request)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[HEADER] = request.request_id
        return response

    async def _acall(self, request):
        token = self._start(request)
        try:
            response = await self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[HEADER] = request.request_id
        return response

    @staticmethod
    def _start(request):
        request.request_id = request_id_for(request.headers.get(HEADER))
        return request_id_var.set(request.request_id)
