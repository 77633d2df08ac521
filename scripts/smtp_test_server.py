"""A throwaway SMTP server for the notifier tests, on aiosmtpd (Debian's python3-aiosmtpd).

Started by scripts/smtp-test-server.sh; not meant to be run by hand. Usage:

    python3 smtp_test_server.py DIR

DIR holds `config.json` (login and password for AUTH; certificate and key for TLS). The server
listens on three loopback ports chosen by the kernel:

- plain: no TLS, no AUTH (a local relay);
- starttls: STARTTLS required before MAIL, AUTH required (after STARTTLS);
- tls: implicit TLS (SMTPS), AUTH required.

Every message accepted is written to DIR/spool as N.eml (the raw bytes received) and N.json
(envelope, which port, whether TLS and AUTH were used, and the subject, plain-text body, HTML
body, content types of the parts and a few headers as Python's `email` package decodes them). Both are written before the server answers 250, and
renamed into place, so a client that got its 250 finds complete files.

Recipients whose local part is `reject-permanent` get 550 at RCPT, `reject-transient` get 451.
When the ports are bound the server writes DIR/ports (JSON) and DIR/pid, then runs until
SIGTERM.
"""

import asyncio
import email
import email.policy
import itertools
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Spool:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    def write(self, listener, session, envelope, transport):
        n = next(self.counter)
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        login = None
        if isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode("utf-8", "replace")
        record = {
            "listener": listener,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "login": login,
            "subject": str(message.get("Subject", "")),
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "message_id": str(message.get("Message-ID", "")),
            "references": str(message.get("References", "")),
            "x_incident_key": str(message.get("X-Incident-Key", "")),
            "content_type": message.get_content_type(),
            "charset": message.get_content_charset(),
            "body": body.get_content() if body is not None else None,
            "html": html.get_content() if html is not None else None,
            "parts": [part.get_content_type() for part in message.walk()],
        }
        base = os.path.join(self.directory, str(n))
        for suffix, data in ((".eml", raw), (".json", json.dumps(record).encode("utf-8"))):
            tmp = base + suffix + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, base + suffix)


class Handler:
    def __init__(self, spool, listener):
        self.spool = spool
        self.listener = listener

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local == "reject-permanent":
            return "550 5.1.1 no such mailbox here"
        if local == "reject-transient":
            return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.spool.write(self.listener, session, envelope, server.transport)
        return "250 2.0.0 OK queued"


def authenticator(login, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == login
            and auth_data.password == password
        )
        # handled=False: aiosmtpd answers 535 itself when the login is refused.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


async def main(directory):
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    spool = Spool(os.path.join(directory, "spool"))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(config["cert"], config["key"])
    check = authenticator(config["login"].encode(), config["password"].encode())
    loop = asyncio.get_running_loop()

    def factory(listener, **kwargs):
        return lambda: SMTP(
            Handler(spool, listener),
            hostname="localhost",
            enable_SMTPUTF8=True,
            loop=loop,
            **kwargs,
        )

    servers = {
        "plain": await loop.create_server(factory("plain"), "127.0.0.1", 0),
        "starttls": await loop.create_server(
            factory(
                "starttls",
                tls_context=tls,
                require_starttls=True,
                authenticator=check,
                auth_required=True,
            ),
            "127.0.0.1",
            0,
        ),
        "tls": await loop.create_server(
            factory(
                "tls",
                authenticator=check,
                auth_required=True,
                # The connection is TLS from the first byte; aiosmtpd only knows about
                # STARTTLS, so it must be told not to insist on it before AUTH.
                auth_require_tls=False,
            ),
            "127.0.0.1",
            0,
            ssl=tls,
        ),
    }
    ports = {name: s.sockets[0].getsockname()[1] for name, s in servers.items()}
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    loop.add_signal_handler(signal.SIGINT, stop.set_result, None)
    for name, data in (("pid", str(os.getpid())), ("ports", json.dumps(ports))):
        tmp = os.path.join(directory, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(data)
        os.rename(tmp, os.path.join(directory, name))
    await stop
    for s in servers.values():
        s.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
