"""A local stand-in for the part of Stripe's REST API the clinic uses, for tests.

A real HTTP server on a free loopback port that speaks what Stripe documents for:

- POST /v1/checkout/sessions, GET /v1/checkout/sessions/<id>, POST /v1/refunds:
  form-encoded bodies with bracketed keys (line_items[0][price_data][currency]), a
  Bearer secret key, JSON answers shaped like Stripe's objects, errors as
  {"error": {"type", "message"}} with a 4xx status, and the Idempotency-Key header
  honoured (the same key and body answer with the first result; the same key with
  another body is refused, as Stripe does).
- a tiny "hosted page" at the session's url (/c/pay/<id>): its Pay button completes the
  session, sends our app the signed checkout.session.completed event and redirects to
  the success_url (with {CHECKOUT_SESSION_ID} filled in); its link goes to cancel_url.

Every API call is recorded (method, path, parsed form, headers) for tests to check,
and `send_event` posts signed webhook events (Stripe-Signature: t=...,v1=HMAC-SHA256
of "<t>.<payload>" under the endpoint secret) to the app's webhook address.
"""

import html
import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from booking.clinic.payments.stripe_checkout import signature_for

SECRET_KEY = "sk_test_standin_0123456789"  # noqa: S105 - the stand-in's own test key
WEBHOOK_SECRET = "whsec_standin_0123456789"  # noqa: S105


@dataclass
class Call:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class Delivery:
    status: int
    body: str
    payload: bytes = b""
    header: str = ""


def _nest(form: dict[str, str]) -> dict[str, Any]:
    """a[b][0][c]=x -> {"a": {"b": {"0": {"c": "x"}}}} (lists kept as index-keyed dicts)."""
    tree: dict[str, Any] = {}
    for key, value in form.items():
        parts = key.replace("]", "").split("[")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


@dataclass
class StripeStandIn:
    secret_key: str = SECRET_KEY
    webhook_secret: str = WEBHOOK_SECRET
    webhook_url: str | None = None
    calls: list[Call] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)  # by payment intent
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[tuple[int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._idempotent: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    # Running -----------------------------------------------------------------------------

    def start(self) -> "StripeStandIn":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                standin._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                standin._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # Polled for shutdown every 50 ms (the default 0.5 s made stop() wait that long).
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def config(self) -> dict[str, str]:
        """The app settings that point our adapter here."""
        return {
            "STRIPE_SECRET_KEY": self.secret_key,
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "STRIPE_API_BASE": self.base_url,
            "STRIPE_CHECKOUT_ORIGIN": self.base_url,
        }

    def fail_next(self, status: int, message: str) -> None:
        """The next API call is refused with this Stripe-shaped error."""
        self.failures.append((status, message))

    def api_calls(self, path_prefix: str = "/v1/") -> list[Call]:
        return [call for call in self.calls if call.path.startswith(path_prefix)]

    def _id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids):04d}{secrets.token_hex(6)}"

    # The API -----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parsed = urlsplit(handler.path)
        path = parsed.path
        if path.startswith("/c/pay/"):
            self._hosted_page(handler, method, path.rsplit("/", 1)[-1], body)
            return
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        headers = {key.lower(): value for key, value in handler.headers.items()}
        with self._lock:
            self.calls.append(Call(method, path, form, headers))
        status, answer, replayed = self._api(method, path, form, headers)
        payload = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("Request-Id", self._id("req"))
        if replayed:
            handler.send_header("Idempotent-Replayed", "true")
        handler.end_headers()
        handler.wfile.write(payload)

    def _api(
        self, method: str, path: str, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], bool]:
        if headers.get("authorization") != f"Bearer {self.secret_key}":
            return 401, _error("invalid_request_error", "Invalid API Key provided."), False
        key = headers.get("idempotency-key")
        fingerprint = json.dumps([method, path, sorted(form.items())])
        with self._lock:
            if key and key in self._idempotent:
                first, status, answer = self._idempotent[key]
                if first != fingerprint:
                    return (
                        400,
                        _error(
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                        ),
                        False,
                    )
                return status, answer, True
            if self.failures:
                status, message = self.failures.pop(0)
                return status, _error("invalid_request_error", message), False
            status, answer = self._route(method, path, form)
            if key and method == "POST":
                self._idempotent[key] = (fingerprint, status, answer)
        return status, answer, False

    def _route(self, method: str, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(form)
        if method == "POST" and path.startswith("/v1/checkout/sessions/"):
            if not path.endswith("/expire"):
                return 404, _error("invalid_request_error", f"Unrecognized request URL ({path}).")
            session = self.sessions.get(path.split("/")[-2])
            if session is None:
                return 404, _error("invalid_request_error", "No such checkout.session")
            if session["status"] != "open":
                return 400, _error(
                    "invalid_request_error",
                    'Only Checkout Sessions with a status in ["open"] can be expired.',
                )
            session.update(status="expired")
            return 200, session
        if method == "GET" and path.startswith("/v1/checkout/sessions/"):
            session = self.sessions.get(path.rsplit("/", 1)[-1])
            if session is None:
                return 404, _error("invalid_request_error", "No such checkout.session")
            return 200, session
        if method == "POST" and path == "/v1/refunds":
            return self._create_refund(form)
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({path}).")

    def _create_session(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        tree = _nest(form)
        if tree.get("mode") != "payment":
            return 400, _error("invalid_request_error", "Missing required param: mode.")
        for name in ("success_url", "cancel_url"):
            if not tree.get(name):
                return 400, _error("invalid_request_error", f"Missing required param: {name}.")
        try:
            items = tree["line_items"]
            total = sum(
                int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
                for item in items.values()
            )
        except (KeyError, ValueError, AttributeError):
            return 400, _error("invalid_request_error", "Invalid line_items.")
        session_id = self._id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": total,
            "currency": items["0"]["price_data"].get("currency", "gbp"),
            "url": f"{self.base_url}/c/pay/{session_id}",
            "success_url": tree["success_url"],
            "cancel_url": tree["cancel_url"],
            "metadata": tree.get("metadata", {}),
            "client_reference_id": tree.get("client_reference_id"),
            "customer_email": tree.get("customer_email"),
            "expires_at": int(tree.get("expires_at") or time.time() + 86400),
            "payment_intent": None,
            "livemode": False,
        }
        self.sessions[session_id] = session
        return 200, session

    def _create_refund(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        charge = self.charges.get(form.get("payment_intent", ""))
        if charge is None:
            return 400, _error("invalid_request_error", "No such payment_intent.")
        amount = int(form.get("amount") or charge["amount"] - charge["amount_refunded"])
        if amount > charge["amount"] - charge["amount_refunded"]:
            return 400, _error(
                "invalid_request_error",
                "Refund amount is greater than unrefunded amount on charge.",
            )
        refund = {
            "id": self._id("re"),
            "object": "refund",
            "amount": amount,
            "currency": "gbp",
            "charge": charge["id"],
            "payment_intent": charge["payment_intent"],
            "status": "succeeded",
            "failure_reason": None,
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, refund)
        return 200, refund

    # Paying and webhooks -----------------------------------------------------------------

    def pay(self, session_id: str) -> dict[str, Any]:
        """Complete a session as a card payment would; returns the session."""
        with self._lock:
            session = self.sessions[session_id]
            if session["status"] == "open":
                intent = self._id("pi")
                session.update(status="complete", payment_status="paid", payment_intent=intent)
                self.charges[intent] = {
                    "id": self._id("ch"),
                    "object": "charge",
                    "amount": session["amount_total"],
                    "amount_refunded": 0,
                    "refunded": False,
                    "payment_intent": intent,
                    "metadata": session["metadata"],
                    "refunds": {"object": "list", "data": []},
                }
        return session

    def fail_refund(
        self,
        refund_id: str,
        *,
        status: str = "failed",
        reason: str = "expired_or_canceled_card",
        events: tuple[str, ...] = ("refund.updated", "refund.failed"),
    ) -> list[Delivery]:
        """A refund that cannot be made, as Stripe reports it: the refund's status becomes
        "failed" (with its failure_reason) or "canceled", the charge gets the money back,
        and each of `events` (refund.updated, refund.failed, charge.refund.updated,
        charge.refunded...) is delivered with the refund, or the charge, as its object.
        """
        with self._lock:
            refund = self.refunds[refund_id]
            if refund["status"] not in ("failed", "canceled"):
                charge = self.charges[refund["payment_intent"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
            refund.update(
                status=status,
                failure_reason=reason if status == "failed" else None,
                failure_balance_transaction=self._id("txn"),
            )
        deliveries = []
        for event_type in events:
            if event_type.startswith("charge.refunded"):
                obj = self.charges[refund["payment_intent"]]
            else:
                obj = refund
            deliveries.append(self.send_event(event_type, obj))
        return deliveries

    def charge_for(self, payment_intent: str) -> dict[str, Any]:
        return self.charges[payment_intent]

    def event(self, event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> bytes:
        """An event's JSON body, as Stripe sends it."""
        return json.dumps(
            {
                "id": event_id or self._id("evt"),
                "object": "event",
                "api_version": "2024-06-20",
                "created": int(time.time()),
                "type": event_type,
                "livemode": False,
                "data": {"object": json.loads(json.dumps(obj))},
            }
        ).encode()

    def sign(self, payload: bytes, *, timestamp: int | None = None, secret: str | None = None):
        t = int(time.time()) if timestamp is None else timestamp
        return f"t={t},v1={signature_for(secret or self.webhook_secret, t, payload)}"

    def deliver(self, payload: bytes, header: str | None) -> Delivery:
        """POST a webhook body with this Stripe-Signature header to the app."""
        assert self.webhook_url, "set standin.webhook_url to the app's webhook address"
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if header is not None:
            headers["Stripe-Signature"] = header
        request = urllib.request.Request(
            self.webhook_url, data=payload, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                delivery = Delivery(
                    response.status, response.read().decode(), payload, header or ""
                )
        except urllib.error.HTTPError as error:
            delivery = Delivery(error.code, error.read().decode(), payload, header or "")
        self.deliveries.append(delivery)
        return delivery

    def send_event(self, event_type: str, obj: dict[str, Any], **kwargs: Any) -> Delivery:
        payload = self.event(event_type, obj, event_id=kwargs.pop("event_id", None))
        return self.deliver(payload, self.sign(payload, **kwargs))

    def _hosted_page(
        self, handler: BaseHTTPRequestHandler, method: str, session_id: str, body: bytes
    ) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            handler.send_error(404)
            return
        if method == "POST":
            self.pay(session_id)
            if self.webhook_url:
                self.send_event("checkout.session.completed", session)
            target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
            handler.send_response(303)
            handler.send_header("Location", target)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        amount = session["amount_total"]
        page = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<title>Stand-in checkout</title></head><body><main>"
            f"<h1>Pay £{amount // 100}.{amount % 100:02d}</h1>"
            "<form method='post'><button type='submit'>Pay</button></form>"
            f"<p><a href='{html.escape(session['cancel_url'])}'>Back</a></p>"
            "</main></body></html>"
        ).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(page)))
        handler.end_headers()
        handler.wfile.write(page)


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}
