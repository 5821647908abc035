"""Sending: e-mail through the configured SMTP server, and outbound webhooks signed with HMAC-SHA256.

A webhook carries `X-Altavoz-Timestamp` (epoch seconds) and `X-Altavoz-Signature: sha256=<hex>`, the
HMAC-SHA256 with the rule's secret of `<timestamp>.<raw body>`. A receiver recomputes it with
`verify_signature` (or the same three lines in its own language) and rejects stale timestamps.
Both raise `DeliveryFailed` with a reason a person can act on; retries are the caller's
(crm.listening.delivery, through the job queue)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from crm.settings import Settings

SIGNATURE_HEADER = "X-Altavoz-Signature"
TIMESTAMP_HEADER = "X-Altavoz-Timestamp"
MAX_SKEW_SECONDS = 300


class DeliveryFailed(Exception):
    pass


def email_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def send_email(settings: Settings, to: Sequence[str], subject: str, text: str, *, html: str | None = None) -> None:
    if not settings.smtp_host:
        raise DeliveryFailed("E-mail is off: set CRM_SMTP_HOST to an SMTP server.")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject.replace("\n", " ")[:200]
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"SMTP server {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(secret: str, timestamp: str, body: bytes, header: str, *, now: float | None = None) -> bool:
    """What a receiver does: recompute the signature and refuse a stale timestamp (replays)."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - stamp) > MAX_SKEW_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, stamp, body), header)


# Global by the book, but they reach other networks' private addresses: NAT64, 6to4, IPv4/IPv6 translation
# and the IETF protocol block.
_TRANSLATED = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "192.0.0.0/24"))


def check_webhook_url(url: str, *, allow_private: bool) -> str | None:
    """Why this URL may not be called (None: it may). Private, loopback and link-local addresses are
    refused unless allowed, so a rule cannot be used to reach services inside the network."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port out of range, an unclosed [ ...
        return "That is not a web address Altavoz can call."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Give an address that starts with http:// or https://."
    if parts.username or parts.password:
        return "Leave user names and passwords out of the address; use the secret to sign instead."
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError):
        return f"The host {parts.hostname} cannot be found."
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast or any(address in net for net in _TRANSLATED):
            return f"{parts.hostname} is a private or local address; webhooks go to public addresses only."
    return None


def masked_url(url: str) -> str:
    """A webhook address as pages and the API show it: the host, without the path and query, which for
    many services is the credential ("https://hooks.slack.com/…")."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "…"
    if not host:
        return url if not url else "…"
    rest = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{rest}"


def shown_target(channel: str, target: str) -> str:
    return masked_url(target) if channel == "webhook" else target


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # a redirect could lead inside the network
        return None


def post_webhook(settings: Settings, url: str, secret: str, payload: dict[str, Any]) -> int:
    """POST the payload as JSON, signed; returns the HTTP status (2xx). Raises DeliveryFailed otherwise."""
    refused = check_webhook_url(url, allow_private=settings.webhook_allow_private)
    if refused:
        raise DeliveryFailed(refused)
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    stamp = int(time.time())
    request = urllib.request.Request(url, data=body, method="POST", headers={  # noqa: S310 (http(s) checked above)
        "Content-Type": "application/json", "User-Agent": "Altavoz-Webhook/1",
        TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: signature(secret, stamp, body)})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=settings.webhook_timeout_seconds) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"{url} answered {exc.code}") from exc
    except (OSError, urllib.error.URLError) as exc:
        raise DeliveryFailed(f"{url} did not answer: {getattr(exc, 'reason', exc)}") from exc
