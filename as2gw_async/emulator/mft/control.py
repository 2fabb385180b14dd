"""The non-spec ``/_emulator/`` routes of the MFT emulator: drive one in another process.

The Python handle (:class:`~as2gw_async.emulator.mft.MftEmulator`) is the way in tests; these
routes give the same controls over HTTP, for an emulator started from a shell. They need no
token and are never subject to faults. JSON in, JSON out; errors are ``{"message": ...}``.

============================  ====================================================
``GET  health``               ``{"status": "ok", "storeUrl": ...}``
``GET  stats``                ``{"gateway": {...}, "store": {...}}``
``POST config``               any of ``tokenTtl``, ``refreshTtl``, ``sendDelay``, ``maxBody``,
                              ``linkTtl``, ``latency``, ``storeLatency``, ``refreshFails``,
                              ``sendTokenExpiry``, ``naming``
``POST expire-tokens``        ``{"refresh": false}``
``POST expire-links``         every presigned link issued so far expires
``POST seed``                 ``{"n", "sizes", "exactSizes", "attachments", "names", "seed",
                              "generated"}``
``POST deliver``              ``{"station", "partner", "subject", "messageId", "attachments":
                              [{"name", "content" | "contentBase64" | "generatedSize"}]}``
``POST partners``             ``{"as2Identifier", "outcome", "subject"}`` (add or update)
``POST release``              ``{"identifier", "outcome"}``: settle a queued message now
``POST faults``               ``{"route", "status", "times", "retryAfter"}`` or ``{"route",
                              "delay", "times"}``; ``{"clear": true}`` drops them
``POST store-faults``         ``{"status", "times"}``, ``{"resetAfterBytes", "times"}`` or
                              ``{"clear": true}``
============================  ====================================================
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._bodies import Body, GeneratedBody
from .faults import FaultScript
from .state import MftGateway

__all__ = ["handle_control"]


async def handle_control(gateway: MftGateway, request: Request, rest: list[str]) -> Response:
    """Answer one ``/_emulator/<rest>`` request."""
    try:
        return await _handle(gateway, request, "/".join(rest))
    except (ValueError, TypeError, KeyError, LookupError, binascii.Error) as exc:
        return JSONResponse({"message": f"{type(exc).__name__}: {exc}"}, status_code=400)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    data = json.loads(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise TypeError("the body must be a JSON object")
    return data


def _attachment(item: dict[str, Any]) -> tuple[str, Body]:
    name = str(item["name"])
    if "generatedSize" in item:
        return name, GeneratedBody(int(item["generatedSize"]), int(item.get("seed", 0)))
    if "contentBase64" in item:
        return name, base64.b64decode(item["contentBase64"], validate=True)
    return name, str(item.get("content", "")).encode("utf-8")


def _config(gw: MftGateway) -> dict[str, Any]:
    return {
        "naming": gw.naming,
        "tokenTtl": gw.token_ttl,
        "refreshTtl": gw.refresh_ttl,
        "sendDelay": gw.send_delay,
        "maxBody": gw.max_body,
        "linkTtl": gw.store.link_ttl,
        "latency": gw.faults.latency,
        "storeLatency": gw.store.faults.latency,
        "refreshFails": gw.refresh_fails,
        "sendTokenExpiry": gw.send_token_expiry,
    }


def _apply_config(gw: MftGateway, data: dict[str, Any]) -> None:
    if "naming" in data:
        gw.set_naming(str(data["naming"]))
    if "tokenTtl" in data:
        gw.token_ttl = float(data["tokenTtl"])
    if "refreshTtl" in data:
        gw.refresh_ttl = float(data["refreshTtl"])
    if "sendDelay" in data:
        gw.send_delay = float(data["sendDelay"])
    if "maxBody" in data:
        gw.max_body = int(data["maxBody"])
    if "linkTtl" in data:
        gw.store.link_ttl = int(data["linkTtl"])
    if "latency" in data:
        gw.faults.latency = float(data["latency"])
    if "storeLatency" in data:
        gw.store.faults.latency = float(data["storeLatency"])
    if "refreshFails" in data:
        gw.refresh_fails = bool(data["refreshFails"])
    if "sendTokenExpiry" in data:
        gw.send_token_expiry = bool(data["sendTokenExpiry"])


def _script(faults: FaultScript, data: dict[str, Any]) -> None:
    if data.get("clear"):
        faults.clear()
        return
    route = data.get("route")
    times = int(data.get("times", 1))
    if "resetAfterBytes" in data:
        faults.reset(route, after_bytes=int(data["resetAfterBytes"]), times=times)
    elif "delay" in data:
        faults.delay(route, float(data["delay"]), times=times)
    else:
        retry_after = data.get("retryAfter")
        faults.fail(
            route,
            int(data["status"]),
            times=times,
            retry_after=None if retry_after is None else float(retry_after),
        )


async def _handle(gw: MftGateway, request: Request, route: str) -> Response:
    key = (request.method, route)
    if key == ("GET", "health"):
        return JSONResponse({"status": "ok", "storeUrl": gw.store.base_url})
    if key == ("GET", "stats"):
        with gw._lock:
            return JSONResponse({"gateway": gw.stats.as_dict(), "store": gw.store.stats.as_dict()})
    if key == ("GET", "config"):
        return JSONResponse(_config(gw))
    if key == ("POST", "config"):
        _apply_config(gw, await _body(request))
        return JSONResponse(_config(gw))
    if key == ("POST", "expire-tokens"):
        gw.expire_tokens(refresh=bool((await _body(request)).get("refresh", False)))
        return JSONResponse({"message": "tokens expired"})
    if key == ("POST", "expire-links"):
        gw.store.expire_links()
        return JSONResponse({"message": "links expired"})
    if key == ("POST", "seed"):
        data = await _body(request)
        sizes = data.get("sizes", [64, 4096])
        ids = gw.seed_inbox(
            int(data.get("n", 10)),
            sizes=tuple(sizes) if len(sizes) == 2 and not data.get("exactSizes") else list(sizes),
            attachments=int(data.get("attachments", 1)),
            names=data.get("names"),
            seed=int(data.get("seed", 0)),
            generated=bool(data.get("generated", False)),
        )
        return JSONResponse({"ids": ids}, status_code=201)
    if key == ("POST", "deliver"):
        data = await _body(request)
        kwargs: dict[str, Any] = {}
        if data.get("attachments"):
            kwargs["attachments"] = [_attachment(a) for a in data["attachments"]]
        mid = gw.deliver(
            str(data.get("station", "MyStation")),
            str(data.get("partner", "MyPartner")),
            subject=data.get("subject"),
            message_id=data.get("messageId"),
            **kwargs,
        )
        return JSONResponse({"identifier": mid}, status_code=201)
    if key == ("POST", "partners"):
        data = await _body(request)
        as2_id = str(data["as2Identifier"])
        if gw.has_partner(as2_id):
            partner = gw.partner(as2_id)
            partner.outcome = str(data.get("outcome", partner.outcome))
        else:
            partner = gw.add_partner(
                as2_id, outcome=str(data.get("outcome", "deliver")), subject=data.get("subject")
            )
        return JSONResponse({"as2Identifier": partner.as2_id, "outcome": partner.outcome})
    if key == ("POST", "release"):
        data = await _body(request)
        gw.release(str(data["identifier"]), str(data.get("outcome", "deliver")))
        return JSONResponse({"message": "released"})
    if key == ("POST", "faults"):
        _script(gw.faults, await _body(request))
        return JSONResponse({"pending": gw.faults.pending})
    if key == ("POST", "store-faults"):
        data = await _body(request)
        _script(gw.store.faults, {"route": "download", **data})
        return JSONResponse({"pending": gw.store.faults.pending})
    return JSONResponse(
        {"message": f"No emulator control route {request.method} /_emulator/{route}"},
        status_code=404,
    )
