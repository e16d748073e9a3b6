"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 and a free port, in a thread.

It records every delivered e-mail, can reject chosen recipients with 451 a given number of
times, and can require a login, STARTTLS or implicit TLS with a self-signed certificate
made by the ``openssl`` command.
"""

import socket
import ssl
import subprocess
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"


@dataclass
class Delivery:
    """One e-mail the server accepted: the envelope and the parsed message."""

    mail_from: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        return self.message.get_content()


class RecordingHandler:
    """Keeps accepted e-mails; rejects a recipient with 451 while it has failures left."""

    def __init__(self):
        self.deliveries: list[Delivery] = []
        #: Recipient address → how many more times its e-mail is rejected with 451.
        self.failures: dict[str, int] = {}
        #: Recipients rejected with 451 so far, in order.
        self.refused: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        for recipient in envelope.rcpt_tos:
            left = self.failures.get(recipient, 0)
            if left:
                self.failures[recipient] = left - 1
                self.refused.append(recipient)
                return "451 4.3.0 Temporary failure, try again later"
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.deliveries.append(Delivery(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 OK"

    def delivered_to(self, address: str) -> list[Delivery]:
        return [d for d in self.deliveries if address in d.recipients]


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """Create a self-signed certificate for 127.0.0.1; return (certificate, key) paths."""
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
    )
    return certificate, key


def server_tls_context(certificate: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate), str(key))
    return context


class Authenticator:
    """Accepts one user name and password, and records the logins it saw."""

    def __init__(self, username: str, password: str):
        self.username = username.encode()
        self.password = password.encode()
        self.logins: list[str] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if auth_data.login == self.username and auth_data.password == self.password:
            self.logins.append(auth_data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


class SMTPTestServer:
    """An aiosmtpd server started on a free port of 127.0.0.1; use as a context manager.

    ``starttls`` offers and requires STARTTLS, ``implicit_tls`` speaks TLS from the first
    byte (MAIL_SECURITY "ssl"); both need ``certificate`` = (certificate, key) paths.
    """

    def __init__(self, *, authenticator=None, certificate=None, starttls=False, implicit_tls=False):
        self.handler = RecordingHandler()
        self.port = free_port()
        options = {}
        if authenticator is not None:
            options["authenticator"] = authenticator
            options["auth_required"] = True
            options["auth_require_tls"] = starttls
        if starttls:
            options["tls_context"] = server_tls_context(*certificate)
            options["require_starttls"] = True
        if implicit_tls:
            options["ssl_context"] = server_tls_context(*certificate)
        self.controller = Controller(self.handler, hostname=HOST, port=self.port, **options)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *_exc):
        self.controller.stop()

    @property
    def deliveries(self) -> list[Delivery]:
        return self.handler.deliveries

    def delivered_to(self, address: str) -> list[Delivery]:
        return self.handler.delivered_to(address)
