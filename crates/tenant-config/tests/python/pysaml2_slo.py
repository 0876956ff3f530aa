"""pysaml2 acting as the IdP of SAML Single Logout, against the SP's own metadata.

Usage: pysaml2_slo.py CONFIG.json
CONFIG.json: {"mode", "key": KEY.pem, "cert": CERT.pem, "idp": entity id, "idp_slo_url": the
IdP's SLO URL, "sp_metadata": the SP's metadata XML (its signing certificate and
SingleLogoutService are used), ...} and by mode:

- "answer": the SP's LogoutRequest, "request_url" (HTTP-Redirect: the query signature must
  verify with the SP's signing certificate) or "request_form" (HTTP-POST: the base64
  SAMLRequest, whose enveloped signature must verify); "binding": "redirect" or "post" for
  the answer. Prints {"request_id", "name_id", "name_id_format", "session_indexes",
  "response_url" (redirect) or "response_form" (post, base64 of the signed LogoutResponse)}.
- "request": a LogoutRequest to the SP's SLO URL, signed with the key, for "name_id" and
  "session_index", "binding" as above, optional "expire" (an ISO instant for NotOnOrAfter).
  Prints {"request_id", "url"} (redirect, query-signed) or {"request_id", "form"} (post).
- "check": the SP's LogoutResponse, "response_url" or "response_form", must be signed with
  the SP's signing certificate, answer "request_id" and carry the Success status. Prints
  {"in_response_to", "status", "destination", "relay_state"}.
"""

import base64
import json
import sys
from urllib.parse import parse_qs, urlsplit

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.samlp import STATUS_SUCCESS
from saml2.server import Server
from saml2.sigver import verify_redirect_signature
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

BINDINGS = {"redirect": BINDING_HTTP_REDIRECT, "post": BINDING_HTTP_POST}


def one(query: dict, name: str):
    return query[name][0] if name in query else None


def sp_signing_cert(metadata: str) -> str:
    start = metadata.index('use="signing"')
    start = metadata.index("X509Certificate>", start) + len("X509Certificate>")
    end = metadata.index("<", start)
    return "".join(metadata[start:end].split())


def main() -> None:
    with open(sys.argv[1]) as f:
        c = json.load(f)
    binding = BINDINGS[c.get("binding", "redirect")]
    config = IdPConfig()
    config.load(
        {
            "entityid": c["idp"],
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(c["idp_slo_url"] + "/sso", BINDING_HTTP_REDIRECT)],
                        "single_logout_service": [
                            (c["idp_slo_url"], BINDING_HTTP_REDIRECT),
                            (c["idp_slo_url"], BINDING_HTTP_POST),
                        ],
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    # Requests from the SP (including LogoutRequests) must be signed.
                    "want_authn_requests_signed": True,
                }
            },
            "key_file": c["key"],
            "cert_file": c["cert"],
            "metadata": {"inline": [c["sp_metadata"]]},
            "xmlsec_binary": "/usr/bin/xmlsec1",
        }
    )
    server = Server(config=config)
    sp = server.metadata.keys()
    sp = next(iter(sp))
    mode = c["mode"]
    if mode == "answer":
        if c.get("request_url"):
            query = parse_qs(urlsplit(c["request_url"]).query)
            if not one(query, "Signature"):
                raise SystemExit("the LogoutRequest carries no query signature")
            request = server.parse_logout_request(
                one(query, "SAMLRequest"),
                BINDING_HTTP_REDIRECT,
                relay_state=one(query, "RelayState"),
                sigalg=one(query, "SigAlg"),
                signature=one(query, "Signature"),
            )
        else:
            xml = base64.b64decode(c["request_form"])
            if not server.sec.correctly_signed_logout_request(xml, must=True):
                raise SystemExit("the LogoutRequest's signature does not verify")
            request = server.parse_logout_request(c["request_form"], BINDING_HTTP_POST)
        if request is None:
            raise SystemExit("the LogoutRequest did not verify")
        message = request.message
        out = {
            "request_id": message.id,
            "name_id": message.name_id.text,
            "name_id_format": message.name_id.format,
            "session_indexes": [s.text for s in message.session_index],
        }
        sign_xml = binding == BINDING_HTTP_POST
        response = server.create_logout_response(
            message, [binding], sign=sign_xml, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
        )
        if binding == BINDING_HTTP_REDIRECT:
            info = server.apply_binding(
                binding,
                str(response),
                response.destination,
                relay_state=None,
                response=True,
                sign=True,
                sigalg=SIG_RSA_SHA256,
            )
            out["response_url"] = dict(info["headers"])["Location"]
        else:
            out["response_form"] = base64.b64encode(str(response).encode()).decode()
        json.dump(out, sys.stdout)
    elif mode == "request":
        destination = c.get("destination")
        if destination is None:
            destination = server.metadata.single_logout_service(sp, binding, "spsso")[0]["location"]
        request_id, request = server.create_logout_request(
            destination,
            sp,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=c["name_id"]),
            session_indexes=[c["session_index"]] if c.get("session_index") else None,
            expire=c.get("expire"),
            sign=binding == BINDING_HTTP_POST,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        if binding == BINDING_HTTP_REDIRECT:
            info = server.apply_binding(
                binding,
                str(request),
                destination,
                relay_state=c.get("relay_state"),
                sign=True,
                sigalg=SIG_RSA_SHA256,
            )
            json.dump({"request_id": request_id, "url": dict(info["headers"])["Location"]}, sys.stdout)
        else:
            form = base64.b64encode(str(request).encode()).decode()
            json.dump({"request_id": request_id, "form": form}, sys.stdout)
    elif mode == "check":
        relay_state = None
        if c.get("response_url"):
            query = parse_qs(urlsplit(c["response_url"]).query)
            msg = {k: v[0] for k, v in query.items()}
            if "Signature" not in msg:
                raise SystemExit("the LogoutResponse carries no query signature")
            if not verify_redirect_signature(msg, server.sec.sec_backend, cert=sp_signing_cert(c["sp_metadata"])):
                raise SystemExit("the LogoutResponse's query signature does not verify")
            relay_state = msg.get("RelayState")
            response = server.parse_logout_request_response(msg["SAMLResponse"], BINDING_HTTP_REDIRECT)
        else:
            xml = base64.b64decode(c["response_form"])
            if not server.sec.correctly_signed_logout_response(xml, must=True):
                raise SystemExit("the LogoutResponse's signature does not verify")
            response = server.parse_logout_request_response(c["response_form"], BINDING_HTTP_POST)
        if response is None:
            raise SystemExit("the LogoutResponse did not verify")
        r = response.response
        if r.in_response_to != c["request_id"]:
            raise SystemExit(f"InResponseTo {r.in_response_to} is not {c['request_id']}")
        if r.status.status_code.value != STATUS_SUCCESS:
            raise SystemExit(f"status {r.status.status_code.value}")
        json.dump(
            {
                "in_response_to": r.in_response_to,
                "status": r.status.status_code.value,
                "destination": r.destination,
                "relay_state": relay_state,
            },
            sys.stdout,
        )
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
