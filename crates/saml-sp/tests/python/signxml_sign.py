"""Signs the root element of an XML file with signxml (enveloped signature, exclusive c14n).

Usage: signxml_sign.py KEY.pem CERT.pem SIGNATURE_METHOD DIGEST C14N FILE
SIGNATURE_METHOD, DIGEST and C14N are signxml enum member names (RSA_SHA256, SHA256,
EXCLUSIVE_XML_CANONICALIZATION_1_0). Prints the signed document.
"""

import sys

from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner, methods


def main() -> None:
    key_path, cert_path, signature, digest, c14n, path = sys.argv[1:7]
    root = etree.parse(path).getroot()
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod[signature],
        digest_algorithm=DigestAlgorithm[digest],
        c14n_algorithm=CanonicalizationMethod[c14n],
    )
    # SAML wants the signature right after Issuer; signxml puts it where this placeholder is.
    issuer = root.find("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer")
    placeholder = etree.Element("{http://www.w3.org/2000/09/xmldsig#}Signature", Id="placeholder")
    issuer.addnext(placeholder)
    with open(key_path, "rb") as f:
        key = f.read()
    with open(cert_path) as f:
        cert = f.read()
    signed = signer.sign(root, key=key, cert=cert, reference_uri=root.get("ID"))
    sys.stdout.write(etree.tostring(signed, encoding="unicode"))


if __name__ == "__main__":
    main()
