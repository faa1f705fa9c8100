"""How the Vendista API (and the proxy in front of it) answers a failed request."""

from __future__ import annotations

from sandboxes.base import Response, json_response

# What a proxy in front of the API answers when the backend is down: not JSON.
NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """`{"success": false, "error": ...}`; a 502 is nginx's HTML page, as a real proxy sends."""
    if status == 502:
        return Response(status, NGINX_502, content_type="text/html", headers=headers or {})
    return json_response(status, {"success": False, "error": message}, headers)
