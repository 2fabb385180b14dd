"""The three gateways ``as2gw`` speaks to, in one table: ``--gateway`` is resolved here.

A `Gateway` says where its client lives, which environment variables hold its credentials,
how a session is opened, which commands it has, how its ``sync`` is filtered, and which
functions run its emulator and its demo. Commands never compare gateway names: they are
handed the `Gateway` the user chose (``--gateway``, else ``AS2GW_GATEWAY``, else
``as2gateway``) and ask it.

>>> gateway("mft").credentials_help
'MFTGW_USERNAME and MFTGW_PASSWORD, or MFTGW_TOKEN_ID and MFTGW_TOKEN_SECRET'
"""

from __future__ import annotations

import enum
import importlib
import os
from collections.abc import Mapping
from typing import Any

from attrs import field, frozen

from ._errors import CliError, ExitCode

__all__ = [
    "DEFAULT_GATEWAY",
    "GATEWAYS",
    "GATEWAY_ENV",
    "Gateway",
    "GatewayName",
    "gateway",
]

#: The environment variable that picks the gateway when ``--gateway`` is not given.
GATEWAY_ENV = "AS2GW_GATEWAY"


class GatewayName(str, enum.Enum):
    """The values of ``--gateway``."""

    as2gateway = "as2gateway"
    mft = "mft"
    ecgrid = "ecgrid"


DEFAULT_GATEWAY = GatewayName.as2gateway.value

#: The commands of AS2 Gateway v1 (every command ``as2gw`` had before it spoke to three).
_V1_COMMANDS = frozenset(
    {
        "login",
        "send",
        "ls",
        "show",
        "download",
        "mdn",
        "batch-download",
        "sync",
        "mark-unread",
        "stop",
        "retry",
        "emulator",
        "demo",
    }
)
#: What every gateway whose client offers a mailbox can do.
_MAILBOX_COMMANDS = frozenset({"sync", "emulator", "demo"})


@frozen(kw_only=True)
class Gateway:
    """One gateway as the command line sees it (see the module docstring)."""

    #: The ``--gateway`` value.
    name: str
    #: For people: "AS2 Gateway v1", "MFT Gateway", "ECGrid".
    title: str
    #: The module holding the client's ``Session``.
    client: str
    #: Alternative sets of environment variables, any complete one is enough.
    credential_env: tuple[tuple[str, ...], ...]
    #: The environment variable of the API root.
    base_url_env: str
    #: The keyword names of ``--username`` and ``--password`` for the session's constructor.
    login_keywords: tuple[str, str]
    #: The commands this gateway has.
    commands: frozenset[str]
    #: ``sync`` options this gateway's mailbox takes: option -> ``session.mailbox()`` keyword
    #: (``partner``, ``station``, ``test``, ``include_mdn``); the others are refused.
    sync_options: Mapping[str, str] = field(factory=dict)
    #: The JSON key of a message id in the command's output.
    id_key: str = "messageId"
    #: Whether ``sync`` can count the waiting messages first (v1's listing has a total).
    counts_unread: bool = False
    #: What ``sync`` calls an acknowledged message in its summary.
    acknowledged: str = "acknowledged"
    #: What a message not yet acknowledged is on this gateway.
    waiting: str = "unread"
    #: ``"module:function"`` running ``as2gw emulator --gateway NAME ARGS``.
    emulator: str = ""
    #: ``"module:function"`` running ``as2gw demo --gateway NAME`` (``fn(cli, dir, n)``).
    demo: str = ""
    #: The module of this gateway's command bodies (``""``: v1's, in ``app.py``).
    verbs: str = ""
    #: Whether the credentials come from the command line (prompting) rather than ``from_env``.
    prompts: bool = False

    @property
    def credentials_help(self) -> str:
        """The credential variables, for an error message or the help."""
        return ", or ".join(" and ".join(group) for group in self.credential_env)

    def has_env_credentials(self, environ: Mapping[str, str] | None = None) -> bool:
        """Whether one complete set of this gateway's credential variables is set."""
        env = os.environ if environ is None else environ
        return any(all(env.get(name) for name in group) for group in self.credential_env)

    def check(self, command: str) -> None:
        """Refuse (exit 2) a command this gateway does not have, naming the ones it has."""
        if command not in self.commands:
            raise CliError(
                f"'as2gw {command}' is not available for --gateway {self.name} "
                f"({self.title}); its commands: {', '.join(sorted(self.commands))}",
                ExitCode.USAGE,
            )

    def verb(self, command: str) -> Any:
        """This gateway's body of ``command``, or ``None`` for AS2 Gateway v1's own."""
        if not self.verbs:
            return None
        return getattr(importlib.import_module(self.verbs), command.replace("-", "_"))

    @staticmethod
    def load(reference: str) -> Any:
        """The object a ``"module:function"`` reference of this table names."""
        module, _, name = reference.partition(":")
        return getattr(importlib.import_module(module), name)

    def session_class(self) -> Any:
        """The client's ``Session`` class (imported only when a command needs it)."""
        try:
            module = importlib.import_module(self.client)
        except ModuleNotFoundError as exc:
            if exc.name != self.client:
                raise
            raise CliError(
                f"this version of as2gw_async has no {self.title} client ({self.client})"
            ) from None
        return module.Session

    def open_session(
        self,
        *,
        username: str | None,
        password: str | None,
        base_url: str | None,
        options: Mapping[str, Any],
    ) -> Any:
        """A new session: from the given credentials, else from the gateway's environment."""
        given = username is not None and password is not None
        if not given and not self.has_env_credentials():
            raise CliError(
                f"no {self.title} credentials: set {self.credentials_help}", ExitCode.USAGE
            )
        cls = self.session_class()
        kwargs = dict(options)
        base_url = base_url or os.environ.get(self.base_url_env)
        if base_url:
            kwargs["base_url"] = base_url
        if given:
            user_key, password_key = self.login_keywords
            return cls(**{user_key: username, password_key: password}, **kwargs)
        return cls.from_env(**kwargs)


GATEWAYS: dict[str, Gateway] = {
    g.name: g
    for g in (
        Gateway(
            name="as2gateway",
            title="AS2 Gateway v1",
            client="as2gw_async",
            credential_env=(("AS2GW_USERNAME", "AS2GW_PASSWORD"),),
            base_url_env="AS2GW_BASE_URL",
            login_keywords=("username", "password"),
            commands=_V1_COMMANDS,
            sync_options={
                "partner": "partner_as2_id",
                "station": "station_as2_id",
                "test": "partner_type",
                "include_mdn": "include_mdn",
            },
            id_key="as2MessageId",
            counts_unread=True,
            acknowledged="marked read",
            emulator="as2gw_async.cli.demo:run_emulator",
            demo="as2gw_async.cli.demo:run_demo",
            prompts=True,
        ),
        Gateway(
            name="mft",
            title="MFT Gateway",
            client="as2gw_async.mft",
            credential_env=(
                ("MFTGW_USERNAME", "MFTGW_PASSWORD"),
                ("MFTGW_TOKEN_ID", "MFTGW_TOKEN_SECRET"),
            ),
            base_url_env="MFTGW_BASE_URL",
            login_keywords=("username", "password"),
            commands=_MAILBOX_COMMANDS
            | {"ls", "show", "download", "send", "mark-unread", "delete"},
            verbs="as2gw_async.cli.verbs_mft",
            sync_options={"partner": "partner", "station": "station", "include_mdn": "include_mdn"},
            acknowledged="marked read",
            emulator="as2gw_async.cli.emulators:run_mft_emulator",
            demo="as2gw_async.cli.demo_mft:run_demo",
        ),
        Gateway(
            name="ecgrid",
            title="ECGrid",
            client="as2gw_async.ecgrid",
            credential_env=(("ECGRID_API_KEY",), ("ECGRID_LOGIN", "ECGRID_PASSWORD")),
            base_url_env="ECGRID_BASE_URL",
            login_keywords=("login", "password"),
            commands=_MAILBOX_COMMANDS
            | {"ls", "show", "download", "upload", "confirm", "reset", "cancel"},
            verbs="as2gw_async.cli.verbs_ecgrid",
            id_key="parcelId",
            acknowledged="confirmed",
            waiting="pending",
            emulator="as2gw_async.cli.emulators:run_ecgrid_emulator",
            demo="as2gw_async.cli.demo_ecgrid:run_demo",
        ),
    )
}


def gateway(name: str | None) -> Gateway:
    """The `Gateway` called ``name`` (``None``: ``AS2GW_GATEWAY``, else ``as2gateway``)."""
    chosen = name or os.environ.get(GATEWAY_ENV) or DEFAULT_GATEWAY
    try:
        return GATEWAYS[chosen.strip().lower()]
    except KeyError:
        raise CliError(
            f"unknown gateway {chosen!r}: choose one of {', '.join(GATEWAYS)} "
            f"(--gateway or {GATEWAY_ENV})",
            ExitCode.USAGE,
        ) from None
