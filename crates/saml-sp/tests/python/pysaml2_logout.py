"""pysaml2 acting as the IdP: prints a signed LogoutRequest for the test SP's session.

Usage: pysaml2_logout.py KEY.pem CERT.pem BINDING
BINDING "redirect" prints the Redirect-binding URL (query signature, RSA-SHA256);
"post" prints the SAMLRequest form value (enveloped XML signature, RSA-SHA256).
"""

import base64
import sys

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

IDP = "https://idp.example.com/saml"
SP = "https://app.example.com/saml/metadata"
SP_SLO = "https://app.example.com/saml/slo"

SP_METADATA = f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{SP}">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:SingleLogoutService Binding="{BINDING_HTTP_REDIRECT}" Location="{SP_SLO}"/>
    <md:SingleLogoutService Binding="{BINDING_HTTP_POST}" Location="{SP_SLO}"/>
    <md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" Location="https://app.example.com/saml/acs" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>"""


def main() -> None:
    key_path, cert_path, binding = sys.argv[1:4]
    config = IdPConfig()
    config.load(
        {
            "entityid": IDP,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [("https://idp.example.com/sso", BINDING_HTTP_POST)],
                        "single_logout_service": [("https://idp.example.com/slo", BINDING_HTTP_REDIRECT)],
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
    name_id = NameID(format=NAMEID_FORMAT_EMAILADDRESS, sp_name_qualifier=SP, text="bjensen@example.com")
    if binding == "redirect":
        _, request = server.create_logout_request(
            SP_SLO, SP, name_id=name_id, session_indexes=["_s1"], sign=False
        )
        info = server.apply_binding(
            BINDING_HTTP_REDIRECT, str(request), SP_SLO, relay_state="rs", sign=True, sigalg=SIG_RSA_SHA256
        )
        sys.stdout.write(dict(info["headers"])["Location"])
    else:
        _, request = server.create_logout_request(
            SP_SLO,
            SP,
            name_id=name_id,
            session_indexes=["_s1"],
            sign=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        sys.stdout.write(base64.b64encode(str(request).encode()).decode())


if __name__ == "__main__":
    main()
