"""How the kiosk token authenticates, in the generated OpenAPI schema (loaded by KioskConfig)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class KioskTokenScheme(OpenApiAuthenticationExtension):
    target_class = "kiosk.auth.KioskTokenAuthentication"
    name = "kioskToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Kiosk <token>`: the token a kiosk device was issued.",
        }
