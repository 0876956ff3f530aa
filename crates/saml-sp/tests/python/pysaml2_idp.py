"""pysaml2 acting as the IdP: prints a Response to an AuthnRequest for the test SP.

Usage: pysaml2_idp.py KEY.pem CERT.pem PLACE REQUEST_ID ALGORITHMS
PLACE is "assertion", "response" or "both": which elements pysaml2 signs.
REQUEST_ID is the InResponseTo value, or "-" for an IdP-initiated Response.
ALGORITHMS is "default" (pysaml2's own choice) or "sha256" (RSA-SHA256 with SHA-256).
"""

import sys

from saml2 import BINDING_HTTP_POST
from saml2.config import IdPConfig
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

IDP = "https://idp.example.com/saml"
SP = "https://app.example.com/saml/metadata"
ACS = "https://app.example.com/saml/acs"

SP_METADATA = f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{SP}">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAssertionsSigned="true">
    <md:NameIDFormat>{NAMEID_FORMAT_EMAILADDRESS}</md:NameIDFormat>
    <md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" Location="{ACS}" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>"""


def main() -> None:
    key_path, cert_path, place, request_id, algorithms = sys.argv[1:6]
    chosen = {}
    if algorithms == "sha256":
        chosen = {"sign_alg": SIG_RSA_SHA256, "digest_alg": DIGEST_SHA256}
    config = IdPConfig()
    config.load(
        {
            "entityid": IDP,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [("https://idp.example.com/sso", BINDING_HTTP_POST)]
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 5},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_URI,
                        }
                    },
                }
            },
            "key_file": key_path,
            "cert_file": cert_path,
            "metadata": {"inline": [SP_METADATA]},
            "xmlsec_binary": "/usr/bin/xmlsec1",
        }
    )
    server = Server(config=config)
    response = server.create_authn_response(
        identity={"mail": ["bjensen@example.com"], "groups": ["admins", "ops"]},
        in_response_to=None if request_id == "-" else request_id,
        destination=ACS,
        sp_entity_id=SP,
        name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text="bjensen@example.com"),
        userid="bjensen",
        authn={
            "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
            "authn_auth": IDP,
        },
        sign_response=place in ("response", "both"),
        sign_assertion=place in ("assertion", "both"),
        **chosen,
    )
    sys.stdout.write(str(response))


if __name__ == "__main__":
    main()
