"""Fetching a practitioner's own calendar over HTTP(S), carefully.

The address comes from a person, so the worker must not become a way to reach the
clinic's own network: the host name is resolved once, every address it resolves to
must be public (no loopback, private, link-local or reserved addresses, unless
CALENDAR_FETCH_ALLOW_PRIVATE is on), and the connection goes to that vetted address
(so a second DNS answer cannot swap it). Each redirect is vetted the same way. Every
step has CALENDAR_FETCH_TIMEOUT, and a body longer than CALENDAR_FETCH_MAX_BYTES is
refused rather than read.
"""

import base64
import http.client
import socket
import ssl
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urljoin, urlsplit

from flask import current_app

MAX_REDIRECTS = 3
USER_AGENT = "ClinicBooking-BusyTime/1.0"


class FetchError(Exception):
    """Why a calendar could not be read, in words fit for staff (no secrets)."""


@dataclass(frozen=True)
class FetchLimits:
    timeout: float
    max_bytes: int
    allow_private: bool

    @classmethod
    def from_config(cls) -> "FetchLimits":
        config = current_app.config
        return cls(
            timeout=float(config.get("CALENDAR_FETCH_TIMEOUT", 10)),
            max_bytes=int(config.get("CALENDAR_FETCH_MAX_BYTES", 5 * 2**20)),
            allow_private=bool(config.get("CALENDAR_FETCH_ALLOW_PRIVATE", False)),
        )


def _vetted_address(host: str, port: int, limits: FetchLimits) -> str:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise FetchError(f"the calendar's server {host} could not be found") from error
    addresses = [str(answer[4][0]) for answer in answers]
    for address in addresses:
        ip = ip_address(address.split("%", 1)[0])
        if not limits.allow_private and not ip.is_global:
            raise FetchError(
                f"the calendar's server {host} is on a private or local network address"
            )
    return addresses[0]


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP connection to an address already vetted, naming the host in Host:."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLSConnection(_PinnedConnection):
    def connect(self) -> None:
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def request(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    username: str = "",
    password: str = "",
    limits: FetchLimits | None = None,
) -> bytes:
    """The body of a successful (2xx) response to `method url`; FetchError otherwise."""
    limits = limits or FetchLimits.from_config()
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise FetchError("the calendar address must start with https:// or http://")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = _vetted_address(parts.hostname, port, limits)
        kind = _PinnedTLSConnection if parts.scheme == "https" else _PinnedConnection
        connection = kind(parts.hostname, port, address, limits.timeout)
        sent = {"User-Agent": USER_AGENT, "Accept": "text/calendar, application/xml"}
        sent.update(headers or {})
        if username or password:
            pair = base64.b64encode(f"{username}:{password}".encode()).decode()
            sent["Authorization"] = f"Basic {pair}"
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            if response.status in {301, 302, 303, 307, 308}:
                location = response.getheader("Location")
                if not location:
                    raise FetchError("the calendar's server redirected to nowhere")
                url = urljoin(url, location)
                continue
            if response.status == 401:
                raise FetchError("the calendar's server refused the user name or password")
            if not 200 <= response.status < 300:
                raise FetchError(f"the calendar's server answered {response.status}")
            data = response.read(limits.max_bytes + 1)
            if len(data) > limits.max_bytes:
                raise FetchError(
                    f"the calendar is larger than {limits.max_bytes // 2**20} MB, so it was "
                    "not read"
                )
            return data
        except (OSError, http.client.HTTPException) as error:
            raise FetchError(
                f"the calendar's server could not be reached ({type(error).__name__})"
            ) from error
        finally:
            connection.close()
    raise FetchError("the calendar's address redirects too many times")
