"""Validates the Gatehouse bench's signed SAML Response with python3-saml (PyPI), the
side-by-side baseline for benches/benches/saml_response.rs. Prints validations per second
in the same form as the Rust saml_validate_loop example.

Usage: first `cargo run --release -p gatehouse-benches --example saml_validate_loop DIR`
(writes DIR/response.xml and DIR/idp-cert.pem), then, in a venv with python3-saml:
`python benches/compare/saml_response.py DIR [SECONDS]`.
"""

import base64
import calendar
import pathlib
import sys
import time
from datetime import datetime, timezone

from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils

IDP = "https://sts.windows.net/4a1c7bd2-0d0b-4b6f-9e38-8d2b0c1f3a77/"
SP = "https://app.example.com/saml/metadata"
ACS = "https://app.example.com/saml/acs"
# The instant the Rust bench validates at (benches/src/saml.rs NOW).
NOW = calendar.timegm(datetime(2026, 12, 4, 8, 0, 0, tzinfo=timezone.utc).utctimetuple())


def main() -> None:
    folder = pathlib.Path(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    response = base64.b64encode((folder / "response.xml").read_bytes()).decode()
    cert = (folder / "idp-cert.pem").read_text()
    OneLogin_Saml2_Utils.now = staticmethod(lambda: NOW)
    settings = OneLogin_Saml2_Settings(
        {
            "strict": True,
            "sp": {
                "entityId": SP,
                "assertionConsumerService": {
                    "url": ACS,
                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                },
                "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            },
            "idp": {
                "entityId": IDP,
                "singleSignOnService": {
                    "url": "https://login.example.com/sso",
                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
                },
                "x509cert": cert,
            },
            "security": {"wantAssertionsSigned": True},
        }
    )
    request = {"https": "on", "http_host": "app.example.com", "script_name": "/saml/acs", "server_port": "443"}

    def validate() -> None:
        r = OneLogin_Saml2_Response(settings, response)
        if not r.is_valid(request, request_id="_req1", raise_exceptions=True):
            raise SystemExit(f"python3-saml rejects the response: {r.get_error()}")

    validate()
    rounds, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        validate()
        rounds += 1
    rate = rounds / (time.perf_counter() - start)
    print(f"python3-saml: {rate:.0f} validations/s ({len((folder / 'response.xml').read_bytes())} bytes)")


if __name__ == "__main__":
    main()
