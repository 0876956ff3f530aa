"""pysaml2 acting as the IdP of one login: reads the AuthnRequest from the HTTP-Redirect URL
the SP sent the browser to, and prints the signed Response it answers with.

Usage: pysaml2_sso.py CONFIG.json
CONFIG.json: {"key": KEY.pem, "cert": CERT.pem, "idp": entity id, "sso_url": SSO URL,
"sp": SP entity id, "acs": ACS URL, "sp_cert": SP signing CERT.pem or null (then the
request must carry a valid query signature), "redirect_url": the SP's redirect URL (null for an IdP-initiated Response),
"name_id": NameID (email format), "identity": {attribute: [values]}, "place": "assertion",
"response" or "both", optional "sp_enc_cert": CERT.pem to encrypt the assertion to}.
Optional further keys: "sp_metadata": the SP's metadata XML, loaded instead of the
description built from "sp", "acs" and the certificates; "encrypt": true to encrypt the
assertion to the encryption certificate of that metadata; "post_request": {"SAMLRequest",
"RelayState"} of an HTTP-POST AuthnRequest, read instead of "redirect_url"; "metadata_only":
true to print {"metadata": the IdP's metadata XML} (SSO endpoints of both bindings at
"sso_url") and stop.
Prints a JSON object: {"request_id", "response"} with the Response's XML.
"""

import json
import os
import sys
from urllib.parse import parse_qs, urlsplit

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

SP_METADATA = """<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{sp}">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="{signed}" WantAssertionsSigned="true">
    {keys}
    <md:NameIDFormat>{name_id_format}</md:NameIDFormat>
    <md:AssertionConsumerService Binding="{binding}" Location="{acs}" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>"""


def key_descriptor(use: str, cert_path: str) -> str:
    with open(cert_path) as f:
        pem = "".join(line for line in f.read().splitlines() if "-----" not in line)
    return (
        f'<md:KeyDescriptor use="{use}"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
        f"<ds:X509Data><ds:X509Certificate>{pem}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        "</md:KeyDescriptor>"
    )


def one(query: dict, name: str):
    return query[name][0] if name in query else None


def main() -> None:
    with open(sys.argv[1]) as f:
        c = json.load(f)
    keys = ""
    if c["sp_cert"]:
        keys += key_descriptor("signing", c["sp_cert"])
    encrypt = {}
    if c.get("sp_enc_cert"):
        keys += key_descriptor("encryption", c["sp_enc_cert"])
    if c.get("sp_enc_cert") or c.get("encrypt"):
        encrypt["encrypt_assertion"] = True
        # AES-256-CBC instead of pysaml2's 3DES default, as the saml-sp tests do.
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../saml-sp/tests/python"))
        from pysaml2_idp import use_aes256_cbc

        use_aes256_cbc()
    config = IdPConfig()
    config.load(
        {
            "entityid": c["idp"],
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [
                            (c["sso_url"], BINDING_HTTP_REDIRECT),
                            (c["sso_url"], BINDING_HTTP_POST),
                        ]
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "want_authn_requests_signed": bool(c["sp_cert"]),
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 5},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_URI,
                        }
                    },
                }
            },
            "key_file": c["key"],
            "cert_file": c["cert"],
            "metadata": {
                "inline": [c["sp_metadata"]]
                if c.get("sp_metadata")
                else [
                    SP_METADATA.format(
                        sp=c["sp"],
                        acs=c["acs"],
                        signed="true" if c["sp_cert"] else "false",
                        binding=BINDING_HTTP_POST,
                        name_id_format=NAMEID_FORMAT_EMAILADDRESS,
                        keys=keys,
                    )
                ]
            },
            "xmlsec_binary": "/usr/bin/xmlsec1",
        }
    )
    if c.get("metadata_only"):
        json.dump({"metadata": str(entity_descriptor(config))}, sys.stdout)
        return
    server = Server(config=config)
    if c.get("post_request"):
        post = c["post_request"]
        message = server.parse_authn_request(
            post["SAMLRequest"], BINDING_HTTP_POST, relay_state=post.get("RelayState")
        ).message
        request_id = message.id
        destination = message.assertion_consumer_service_url
        sp = message.issuer.text
    elif c["redirect_url"] is None:
        # IdP-initiated: no request, no InResponseTo.
        request_id, destination, sp = None, c["acs"], c["sp"]
    else:
        query = parse_qs(urlsplit(c["redirect_url"]).query)
        # With want_authn_requests_signed, pysaml2 raises unless the query signature
        # verifies with the SP certificate of the metadata.
        message = server.parse_authn_request(
            one(query, "SAMLRequest"),
            BINDING_HTTP_REDIRECT,
            relay_state=one(query, "RelayState"),
            sigalg=one(query, "SigAlg"),
            signature=one(query, "Signature"),
        ).message
        request_id = message.id
        destination = message.assertion_consumer_service_url
        sp = message.issuer.text
    response = server.create_authn_response(
        identity=c["identity"],
        in_response_to=request_id,
        destination=destination,
        sp_entity_id=sp,
        name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=c["name_id"]),
        userid=c["name_id"],
        authn={
            "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
            "authn_auth": c["idp"],
        },
        sign_response=c["place"] in ("response", "both"),
        sign_assertion=c["place"] in ("assertion", "both"),
        sign_alg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256,
        **encrypt,
    )
    json.dump({"request_id": request_id, "response": str(response)}, sys.stdout)


if __name__ == "__main__":
    main()
