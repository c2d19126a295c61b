# SPDX-License-Identifier: MIT
"""A mail sink for clover's notify tests: an aiosmtpd handler class.

Run with Debian's python3-aiosmtpd (this directory on PYTHONPATH):

    python3 -m aiosmtpd -n -l 127.0.0.1:PORT [--tlscert C --tlskey K |
        --smtpscert C --smtpskey K] -c smtp_sink.Sink DIR [USER PASSWORD]

Each message accepted is written to DIR as NNNNNN.eml (the DATA exactly as
received, after dot-unstuffing, CRLF line ends kept) and then NNNNNN.json
(the envelope: mail_from, rcpt_tos, login, tls). The JSON file appears last,
by rename, so a reader that sees it sees a complete message.

With USER and PASSWORD, AUTH PLAIN and LOGIN accept exactly those (aiosmtpd
offers AUTH only over TLS). Recipients whose address starts with "reject"
get a permanent 550, those starting with "tempfail" a transient 451.
"""
import base64
import binascii
import itertools
import json
import os

from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword


class Sink:
    def __init__(self, directory, user=None, password=None):
        self.directory = directory
        self.user = user.encode() if user is not None else None
        self.password = password.encode() if password is not None else None
        self.counter = itertools.count(1)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) not in (1, 3):
            parser.error("smtp_sink.Sink takes DIR [USER PASSWORD]")
        return cls(*args)

    def _check(self, login, password):
        ok = self.user is not None and login == self.user and password == self.password
        if not ok:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=LoginPassword(login, password))

    async def auth_PLAIN(self, server, args):
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:  # the server has answered already
                return AuthResult(success=False)
        else:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return AuthResult(success=False, handled=False)
        parts = blob.split(b"\0")
        if len(parts) != 3:
            return AuthResult(success=False, handled=False)
        return self._check(parts[1], parts[2])

    async def auth_LOGIN(self, server, args):
        if len(args) == 1:
            login = await server.challenge_auth(server.AuthLoginUsernameChallenge)
        else:
            try:
                login = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return AuthResult(success=False, handled=False)
        if login is MISSING:  # the server has answered already
            return AuthResult(success=False)
        password = await server.challenge_auth(server.AuthLoginPasswordChallenge)
        if password is MISSING:
            return AuthResult(success=False)
        return self._check(login, password)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("tempfail"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        base = os.path.join(self.directory, "%06d" % n)
        login = session.login_data
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "login": login.decode() if isinstance(login, bytes) else login,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
        }
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".tmp", base + ".json")
        return "250 OK"
