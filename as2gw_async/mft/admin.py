"""Account administration: certificates (``s.certificates``), stations and partners.

Creation bodies are passed as the gateway documents them (camelCase keys, see the OpenAPI
``CreateStationRequest`` / ``CreatePartnerRequest``); the required fields are keyword
arguments, anything else goes in ``**fields``. A validation failure is a 422
`UnprocessableEntityError` whose ``field_errors`` holds the gateway's reasons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._core.bodies import json_body
from .._core.urls import quote_id
from ..converter import to_camel
from ..endpoints._params import check_id
from ..errors import MalformedResponseError
from .models import Certificate, CertificateSummary, CertificateType, CreatedEntity, parse

if TYPE_CHECKING:
    from .session import Session

__all__ = ["Certificates", "Partners", "Stations"]


class _Resource:
    def __init__(self, session: Session) -> None:
        self._session = session


class Certificates(_Resource):
    """``GET /certificate`` and ``GET /certificate/{alias}``."""

    async def list(
        self, cert_type: CertificateType | str | None = None
    ) -> list[CertificateSummary]:
        """The account's certificates, optionally of one ``cert_type`` (``STATION``,
        ``PARTNER``, ``HTTPS``, ``PARTNER_CHAIN``, ``HTTPS_CHAIN``)."""
        params: dict[str, str | int] = {}
        if cert_type is not None:
            params["certType"] = str(CertificateType(cert_type))
        response = await self._session.request("GET", "/certificate", params=params)
        data = json_body(response)
        if not isinstance(data, list):
            raise MalformedResponseError(
                "the certificate listing is not a list",
                endpoint="GET /certificate",
                response=response,
            )
        return [parse(item, CertificateSummary, response) for item in data]

    async def get(self, alias: str) -> Certificate:
        """One certificate's details."""
        response = await self._session.request(
            "GET", f"/certificate/{quote_id(check_id('alias', alias))}"
        )
        data = json_body(response)
        if not isinstance(data, dict):
            return parse(data, Certificate, response)
        # Its fields are snake_case on the wire, unlike the rest of the API.
        return parse({to_camel(k): v for k, v in data.items()}, Certificate, response, raw=data)


async def _create(
    session: Session, path: str, body: dict[str, Any], id_field: str
) -> CreatedEntity:
    response = await session.request("POST", path, json=body)
    data = json_body(response)
    if not isinstance(data, dict):
        raise MalformedResponseError(
            f"the answer of POST {path} is not an object",
            endpoint=f"POST {path}",
            response=response,
        )
    new_id = data.get(id_field)
    text = data.get("message")
    return CreatedEntity(
        message=text if isinstance(text, str) else "",
        id=new_id if isinstance(new_id, int) and not isinstance(new_id, bool) else None,
    )


class Stations(_Resource):
    """``POST /station``."""

    async def create(
        self,
        name: str,
        as2_identifier: str,
        *,
        email: str,
        certificate: dict[str, Any],
        **fields: Any,
    ) -> CreatedEntity:
        """Create a station (a local AS2 identity). ``certificate`` is one of the OpenAPI
        shapes (``{"type": "NEW_SELF_SIGN_CERTIFICATE", "commonName": ..., ...}``)."""
        body = {
            "name": name,
            "as2Identifier": check_id("as2_identifier", as2_identifier),
            "email": email,
            "certificate": certificate,
            **fields,
        }
        return await _create(self._session, "/station", body, "stationId")


class Partners(_Resource):
    """``POST /partner``."""

    async def create(
        self,
        name: str,
        as2_identifier: str,
        *,
        url: str,
        encryption_certificate: str,
        **fields: Any,
    ) -> CreatedEntity:
        """Create a trading partner. ``encryption_certificate`` is Base64; other fields
        (``signMessage``, ``requestMDN``...) as the OpenAPI file names them."""
        body = {
            "name": name,
            "as2Identifier": check_id("as2_identifier", as2_identifier),
            "url": url,
            "encryptionCertificate": encryption_certificate,
            **fields,
        }
        return await _create(self._session, "/partner", body, "partnerId")
