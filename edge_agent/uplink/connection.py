"""One MQTT connection to a broker: credentials, TLS, connecting with MQTT 5 (falling back to
3.1.1), and errors that say what to fix.

paho-mqtt runs the socket in its own network thread; its callbacks only append to thread-safe
queues and set the owner's ``wake`` event, so they never block paho (it calls ``on_publish``
while holding its own locks). A new :class:`MqttSession` is made for every connection attempt:
what was in flight on a lost connection is resent by the owner from the store, never by a stale
client queue, so the order of first arrivals stays the commit order.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl
import stat
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ..errors import ConfigError, EdgeKitError

Protocol = Literal["auto", "5", "3.1.1"]

_UNSUPPORTED_PROTOCOL = 0x84
_BAD_LOGIN = 0x86
_NOT_AUTHORIZED = 0x87
_MAX_SESSION_EXPIRY = 0xFFFFFFFF


class UplinkError(EdgeKitError, ConnectionError):
    """The broker cannot be reached, refused us, or refused a message; data stays queued.

    The message names the broker, what went wrong and which setting to check.
    """

    def __init__(self, message: str, *, unsupported_protocol: bool = False) -> None:
        super().__init__(message)
        self.unsupported_protocol = unsupported_protocol


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """How to reach and log in to a broker (the uplink's and the collector's)."""

    host: str
    port: int
    client_id: str
    tls: bool = True
    tls_verify: bool = True
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    username: str | None = None
    password_file: Path | None = None
    protocol: Protocol = "auto"
    keepalive: float = 60.0
    session_expiry: float = 7 * 86400.0
    connect_timeout: float = 10.0
    setting_prefix: str = "uplink."
    """How the settings are named in messages (``uplink.`` for the config, ``--`` for the CLI)."""

    @property
    def address(self) -> str:
        """``host:port`` for messages."""
        return f"{self.host}:{self.port}"

    def name(self, key: str) -> str:
        """The user-facing name of a setting (``uplink.ca_file`` or ``--ca-file``)."""
        if self.setting_prefix == "--":
            return "--" + key.replace("_", "-")
        return self.setting_prefix + key


# -- credentials and TLS ------------------------------------------------------------------------


def read_password(path: Path, *, setting: str = "uplink.password_file") -> str:
    """The password in ``path`` (first line), refusing a file that every user may read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(
            f"{setting}: {path} does not exist; write the broker password into it "
            f"(one line) and restrict it: chmod 600 {path}"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror}") from exc
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise ConfigError(
            f"{setting}: {path} can be read by every user on this machine (mode "
            f"{stat.S_IMODE(mode):04o}); a broker password must not be: chmod 600 {path} "
            f"(or chmod 640 with the agent's group)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror}") from exc
    password = text.splitlines()[0] if text else ""
    if not password:
        raise ConfigError(f"{setting}: {path} is empty; write the broker password into it")
    return password


class _ClosingSSLSocket(ssl.SSLSocket):
    """Closes itself when the handshake fails, which paho leaves to the garbage collector."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def tls_context(settings: BrokerSettings) -> ssl.SSLContext:
    """The TLS context: the broker's certificate is verified (against ``ca_file`` or the system
    trust store) unless ``tls_verify`` is off; an optional client certificate."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.sslsocket_class = _ClosingSSLSocket
    if settings.ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(settings.ca_file))
        except FileNotFoundError:
            raise ConfigError(
                f"{settings.name('ca_file')}: {settings.ca_file} does not exist; copy the "
                "region broker's CA certificate (PEM) there"
            ) from None
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"{settings.name('ca_file')}: {settings.ca_file} is not a PEM CA certificate "
                f"({exc})"
            ) from exc
    if settings.client_cert is not None:
        try:
            context.load_cert_chain(
                str(settings.client_cert),
                None if settings.client_key is None else str(settings.client_key),
            )
        except FileNotFoundError as exc:
            raise ConfigError(
                f"{settings.name('client_cert')}: {exc.filename or settings.client_cert} does "
                "not exist"
            ) from None
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"{settings.name('client_cert')}/{settings.name('client_key')}: cannot load "
                f"{settings.client_cert} with its key ({exc}); both must be PEM and belong "
                "together"
            ) from exc
    if not settings.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


# -- explaining failures ------------------------------------------------------------------------


def explain_connect_error(exc: BaseException, settings: BrokerSettings) -> str:
    """What a failed TCP connect or TLS handshake means, and what to check."""
    where = settings.address
    host, port = settings.name("host"), settings.name("port")
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or str(exc)
        if "hostname" in detail.lower() or "ip address mismatch" in detail.lower():
            return (
                f"TLS: the certificate of the broker at {where} is not valid for "
                f"{settings.host!r} ({detail}); connect with a name the certificate lists "
                f"({host}) or have the broker's certificate reissued"
            )
        if settings.ca_file is not None:
            trust = (
                f"{settings.name('ca_file')} ({settings.ca_file}) did not sign it; set "
                f"{settings.name('ca_file')} to the CA certificate that signed the broker's "
                "certificate"
            )
        else:
            trust = (
                f"the system trust store does not know its CA; set {settings.name('ca_file')} "
                "to the region broker's CA certificate"
            )
        return f"TLS: the certificate of the broker at {where} is not trusted ({detail}): {trust}"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        if reason in (
            "WRONG_VERSION_NUMBER",
            "RECORD_LAYER_FAILURE",
            "UNEXPECTED_EOF_WHILE_READING",
        ):
            return (
                f"TLS handshake with {where} failed ({reason}): the broker does not speak TLS on "
                f"port {settings.port}; use its TLS port (usually 8883) or, on a trusted "
                f"network only, set {settings.name('tls')} = false"
            )
        return (
            f"TLS handshake with {where} failed ({reason}); if the broker asks for a client "
            f"certificate, set {settings.name('client_cert')} and {settings.name('client_key')}"
        )
    if isinstance(exc, socket.gaierror):
        return (
            f"cannot resolve the broker's host name {settings.host!r} ({exc.strerror}); check "
            f"{host} and this machine's DNS"
        )
    if isinstance(exc, TimeoutError):
        return (
            f"no answer from the broker at {where} within {settings.connect_timeout:g} s; check "
            f"the network, a firewall on the way, and {host}/{port}"
        )
    if isinstance(exc, ConnectionRefusedError):
        return (
            f"cannot reach the broker at {where}: connection refused (no broker listens there); "
            f"check {host} and {port} and that the broker is running"
        )
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return (
            f"cannot reach the broker at {where}: {exc.strerror}; check this machine's network "
            f"connection and {host}"
        )
    if isinstance(exc, OSError):
        return (
            f"cannot connect to the broker at {where}: {exc.strerror or exc}; check {host}/{port}"
        )
    return f"cannot connect to the broker at {where}: {type(exc).__name__}: {exc}"


def explain_refusal(reason: ReasonCode, settings: BrokerSettings) -> str:
    """What a CONNACK refusal means, and what to fix."""
    where = settings.address
    code = reason.value
    name = reason.getName()
    if code == _BAD_LOGIN or name == "Bad user name or password":
        if settings.username is None:
            return (
                f"the broker at {where} wants a login: set {settings.name('username')} and "
                f"{settings.name('password_file')} (or a client certificate)"
            )
        return (
            f"the broker at {where} refused the login of user {settings.username!r}: bad user "
            f"name or password; check {settings.name('username')} and the password in "
            f"{settings.password_file}"
        )
    if code == _NOT_AUTHORIZED or name == "Not authorized":
        # mosquitto 2 answers a wrong password with "not authorized" too, so say both.
        if settings.username is not None:
            return (
                f"the broker at {where} refused the login of user {settings.username!r} (not "
                f"authorized): the password in {settings.password_file} is wrong or the broker "
                f"does not know this user; check {settings.name('username')} and the password "
                "file, or ask the broker's operator"
            )
        return (
            f"the broker at {where} does not let client {settings.client_id!r} in (not "
            "authorized); it may want a user name and password, or a client certificate it "
            f"knows ({settings.name('client_cert')})"
        )
    if name == "Client identifier not valid":
        return (
            f"the broker at {where} rejects the client id {settings.client_id!r}; set "
            f"{settings.name('client_id')} to a short ASCII name"
        )
    if name in ("Server unavailable", "Server busy", "Server moved", "Use another server"):
        return f"the broker at {where} is not taking connections now ({name}); retrying"
    return f"the broker at {where} refused the connection: {name} (reason code {code:#x})"


def explain_publish_refusal(reason: ReasonCode, topic: str, settings: BrokerSettings) -> str:
    """What a negative PUBACK (MQTT 5) means for the uplink, and what to fix."""
    name = reason.getName()
    if reason.value == _NOT_AUTHORIZED:
        who = (
            f"user {settings.username!r}" if settings.username else f"client {settings.client_id!r}"
        )
        return (
            f"the broker at {settings.address} refused a message on {topic}: not authorized; "
            f"its ACL must let {who} publish to {topic.rsplit('/', 1)[0]}/#"
        )
    if name == "Packet too large":
        return (
            f"the broker at {settings.address} refused a message on {topic} as too large; "
            "lower uplink.pack_size"
        )
    return (
        f"the broker at {settings.address} refused a message on {topic}: {name} "
        f"(reason code {reason.value:#x})"
    )


# -- the session --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ack:
    """A PUBACK: the message id and whether the broker accepted the message."""

    mid: int
    reason: ReasonCode

    @property
    def accepted(self) -> bool:
        """False for an MQTT 5 PUBACK with a failure reason code."""
        return not self.reason.is_failure


MessageHandler = Callable[[mqtt.MQTTMessage], bool]
"""Called in paho's thread for each message; returns whether to acknowledge it."""


class MqttSession:
    """One connection to the broker, from CONNECT to DISCONNECT.

    Args:
        settings: where and how to connect.
        protocol: ``"5"`` or ``"3.1.1"``.
        password: the password read from ``settings.password_file``.
        tls: the TLS context (None for plain TCP).
        wake: set whenever something happened that the owner should look at.
        will: (topic, payload) of the retained last-will message.
        on_message: called in paho's thread for each message (the collector); with
            ``manual_ack`` the message is acknowledged only when it returns True.
    """

    def __init__(
        self,
        settings: BrokerSettings,
        *,
        protocol: Literal["5", "3.1.1"],
        password: str | None,
        tls: ssl.SSLContext | None,
        wake: threading.Event,
        will: tuple[str, bytes] | None = None,
        on_message: MessageHandler | None = None,
        manual_ack: bool = False,
        inflight: int = 20,
        logger: logging.Logger,
    ) -> None:
        self.settings = settings
        self.protocol = protocol
        self._wake = wake
        self._log = logger
        v5 = protocol == "5"
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            clean_session=None if v5 else False,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=False,
            manual_ack=manual_ack,
        )
        client = self.client
        client.connect_timeout = settings.connect_timeout
        client.max_inflight_messages_set(inflight)
        if tls is not None:
            client.tls_set_context(tls)
        if settings.username is not None:
            client.username_pw_set(settings.username, password)
        if will is not None:
            client.will_set(will[0], will[1], qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        if on_message is not None:
            handler = on_message

            def deliver(_client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
                if handler(message) and manual_ack and message.qos > 0:
                    client.ack(message.mid, message.qos)

            client.on_message = deliver
        self.acks: deque[Ack] = deque()
        self.connected = False
        self.session_present = False
        self.receive_maximum = 65535
        """How many QoS 1 messages the broker accepts in flight (MQTT 5 Receive Maximum)."""
        self.maximum_packet_size: int | None = None
        self.lost_reason: str | None = None
        self.subscribed = threading.Event()
        """Set when the broker granted a subscription (SUBACK)."""
        self.subscribe_refused: str | None = None
        self._connack: tuple[ReasonCode, Any] | None = None
        self._answered = threading.Event()
        self._started = False

    # paho's callbacks: never block, never raise.

    def _on_connect(
        self, _client: Any, _userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        self._connack = (reason, properties)
        if not reason.is_failure:
            self.connected = True
            self.session_present = bool(getattr(flags, "session_present", False))
            if properties is not None:
                self.receive_maximum = getattr(properties, "ReceiveMaximum", 65535)
                self.maximum_packet_size = getattr(properties, "MaximumPacketSize", None)
        self._answered.set()
        self._wake.set()

    def _on_disconnect(
        self, _client: Any, _userdata: Any, _flags: Any, reason: ReasonCode, _properties: Any
    ) -> None:
        was_connected = self.connected
        self.connected = False
        if self.lost_reason is None:
            name = reason.getName() if isinstance(reason, ReasonCode) else str(reason)
            if name == "Unspecified error" and was_connected:
                name = "the broker closed the connection or the network dropped it"
            self.lost_reason = name
        self._answered.set()
        self._wake.set()

    def _on_publish(
        self, _client: Any, _userdata: Any, mid: int, reason: ReasonCode, _properties: Any
    ) -> None:
        self.acks.append(Ack(mid, reason))
        self._wake.set()

    def _on_subscribe(
        self, _client: Any, _userdata: Any, _mid: int, reasons: list[ReasonCode], _props: Any
    ) -> None:
        refused = [r for r in reasons if r.is_failure]
        if refused:
            self.subscribe_refused = refused[0].getName()
        self.subscribed.set()
        self._wake.set()

    # -- the owner's side --------------------------------------------------------------------

    def open(self, stop: threading.Event | None = None) -> None:
        """Connect and wait for the broker's CONNACK; raises :class:`UplinkError`.

        Setting ``stop`` ends the wait for the CONNACK early (the TCP connect itself takes
        up to ``connect_timeout``)."""
        settings = self.settings
        properties = None
        kwargs: dict[str, Any] = {}
        if self.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = int(
                min(settings.session_expiry, _MAX_SESSION_EXPIRY)
            )
            kwargs = {"clean_start": False, "properties": properties}
        try:
            self.client.connect(
                settings.host, settings.port, keepalive=round(settings.keepalive), **kwargs
            )
        except (OSError, ValueError) as exc:
            raise UplinkError(explain_connect_error(exc, settings)) from exc
        self.client.loop_start()
        self._started = True
        deadline = time.monotonic() + settings.connect_timeout
        while not self._answered.wait(0.1):
            if stop is not None and stop.is_set():
                self.close()
                raise UplinkError("stopped while waiting for the broker's answer")
            if time.monotonic() >= deadline:
                break
        if not self._answered.is_set():
            self.close()
            raise UplinkError(
                f"the broker at {settings.address} accepted the connection but did not answer "
                f"the login within {settings.connect_timeout:g} s; is it an MQTT broker?"
            )
        connack = self._connack
        if connack is None:
            lost = self.lost_reason or "no reason given"
            self.close()
            raise UplinkError(
                f"the broker at {settings.address} closed the connection during the login "
                f"({lost}); check the credentials and {settings.name('protocol')}"
            )
        reason = connack[0]
        if reason.is_failure:
            self.close()
            unsupported = reason.value == _UNSUPPORTED_PROTOCOL or (
                reason.getName() == "Unsupported protocol version"
            )
            raise UplinkError(explain_refusal(reason, settings), unsupported_protocol=unsupported)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """Send one QoS 1 message; returns its message id, or raises :class:`UplinkError`."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            reason = self.lost_reason or mqtt.error_string(info.rc)
            raise UplinkError(
                f"connection to the broker at {self.settings.address} lost ({reason}); "
                "resending from the last acknowledged reading"
            )
        return info.mid

    def subscribe(self, *topics: str, qos: Literal[0, 1] = 1) -> None:
        """Subscribe to ``topics`` in one SUBSCRIBE (the SUBACK is not waited for: it sets
        :attr:`subscribed`, and :attr:`subscribe_refused` when the broker refused one)."""
        wanted: list[tuple[str, int]] = [(topic, qos) for topic in topics]
        self.client.subscribe(wanted)

    def close(self, *, final: tuple[str, bytes] | None = None, timeout: float = 2.0) -> None:
        """Send ``final`` (retained, QoS 1) and wait up to ``timeout`` s for its PUBACK, then
        disconnect and end paho's thread."""
        if final is not None and self.connected:
            try:
                mid = self.publish(*final, retain=True)
            except UplinkError:
                pass
            else:
                deadline = time.monotonic() + timeout
                while self.connected and time.monotonic() < deadline:
                    if any(a.mid == mid for a in self.acks):
                        break
                    self._wake.wait(0.05)
                    self._wake.clear()
        self.client.disconnect()
        if self._started:
            self.client.loop_stop()
            self._started = False
        self.connected = False


def connect_session(
    settings: BrokerSettings,
    protocol: Protocol,
    *,
    make: Callable[[Literal["5", "3.1.1"]], MqttSession],
    logger: logging.Logger,
    stop: threading.Event | None = None,
) -> MqttSession:
    """Open a session with MQTT 5, or 3.1.1 when ``protocol`` says so or when ``auto`` meets a
    broker that refuses MQTT 5."""
    first: Literal["5", "3.1.1"] = "3.1.1" if protocol == "3.1.1" else "5"
    session = make(first)
    try:
        session.open(stop)
    except UplinkError as exc:
        if not (exc.unsupported_protocol and protocol == "auto"):
            raise
        logger.info("the broker at %s does not speak MQTT 5; using MQTT 3.1.1", settings.address)
        session = make("3.1.1")
        session.open(stop)
    return session
