"""pysaml2 acting as the IdP: prints a Response to an AuthnRequest for the test SP.

Usage: pysaml2_idp.py KEY.pem CERT.pem PLACE REQUEST_ID ALGORITHMS [SP_CERT.pem]
PLACE is "assertion", "response" or "both": which elements pysaml2 signs.
REQUEST_ID is the InResponseTo value, or "-" for an IdP-initiated Response.
ALGORITHMS is "default" (pysaml2's own choice) or "sha256" (RSA-SHA256 with SHA-256).
With SP_CERT.pem the assertion is encrypted for that certificate (after signing), with
RSA-OAEP-MGF1P and AES-256-CBC: pysaml2's own default content cipher is 3DES, which the SP
refuses, so its encryption template and session key are set to AES here.
"""

import sys

from saml2 import entity, sigver

from saml2 import BINDING_HTTP_POST
from saml2.config import IdPConfig
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

IDP = "https://idp.example.com/saml"
SP = "https://app.example.com/saml/metadata"
ACS = "https://app.example.com/saml/acs"

SP_METADATA = """<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{sp}">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAssertionsSigned="true">
    {keys}
    <md:NameIDFormat>{name_id_format}</md:NameIDFormat>
    <md:AssertionConsumerService Binding="{binding}" Location="{acs}" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>"""


def use_aes256_cbc() -> None:
    """Makes pysaml2 encrypt with AES-256-CBC instead of its 3DES default."""
    original_template = sigver.pre_encryption_part
    entity.pre_encryption_part = lambda **kw: original_template(
        msg_enc="http://www.w3.org/2001/04/xmlenc#aes256-cbc", **kw
    )
    original_encrypt = sigver.SecurityContext.encrypt_assertion

    def encrypt_assertion(self, statement, enc_key, template, key_type="des-192", node_xpath=None):
        return original_encrypt(self, statement, enc_key, template, "aes-256", node_xpath)

    sigver.SecurityContext.encrypt_assertion = encrypt_assertion


def main() -> None:
    key_path, cert_path, place, request_id, algorithms = sys.argv[1:6]
    chosen = {}
    keys = ""
    if len(sys.argv) > 6:
        with open(sys.argv[6]) as f:
            pem = "".join(line for line in f.read().splitlines() if "-----" not in line)
        keys = (
            '<md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
            f"<ds:X509Data><ds:X509Certificate>{pem}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
            "</md:KeyDescriptor>"
        )
        chosen["encrypt_assertion"] = True
        use_aes256_cbc()
    if algorithms == "sha256":
        chosen.update({"sign_alg": SIG_RSA_SHA256, "digest_alg": DIGEST_SHA256})
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
            "metadata": {
                "inline": [
                    SP_METADATA.format(
                        sp=SP,
                        acs=ACS,
                        binding=BINDING_HTTP_POST,
                        name_id_format=NAMEID_FORMAT_EMAILADDRESS,
                        keys=keys,
                    )
                ]
            },
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
