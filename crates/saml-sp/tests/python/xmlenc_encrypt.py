"""Encrypts an XML element file as XML Encryption EncryptedData with the `cryptography`
package, for the RSA-OAEP variants the xmlsec1 tool lacks (SHA-256 digest, MGF1-SHA-256).

Usage: xmlenc_encrypt.py CERT.pem TRANSPORT CONTENT FILE
TRANSPORT: oaep-mgf1p-sha256 (xmlenc#rsa-oaep-mgf1p with a SHA-256 DigestMethod) or
           oaep11-sha256-mgf1sha256 (xmlenc11#rsa-oaep, SHA-256 digest, MGF1-SHA-256).
CONTENT: aes128-cbc, aes256-cbc, aes128-gcm or aes256-gcm.
Prints the EncryptedData element.
"""

import base64
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"


def main() -> None:
    cert_path, transport, content, path = sys.argv[1:5]
    with open(cert_path, "rb") as f:
        public_key = x509.load_pem_x509_certificate(f.read()).public_key()
    with open(path, "rb") as f:
        plaintext = f.read()

    size = 16 if content.startswith("aes128") else 32
    key = os.urandom(size)
    if content.endswith("gcm"):
        iv = os.urandom(12)
        ciphertext = iv + AESGCM(key).encrypt(iv, plaintext, None)
        content_uri = XENC11 + content
    else:
        iv = os.urandom(16)
        padder = padding.PKCS7(128).padder()
        padded = padder.update(plaintext) + padder.finalize()
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        ciphertext = iv + encryptor.update(padded) + encryptor.finalize()
        content_uri = XENC + content

    if transport == "oaep-mgf1p-sha256":
        wrapped = public_key.encrypt(
            key, asym.OAEP(mgf=asym.MGF1(hashes.SHA1()), algorithm=hashes.SHA256(), label=None)
        )
        method = (
            f'<xenc:EncryptionMethod Algorithm="{XENC}rsa-oaep-mgf1p">'
            f'<ds:DigestMethod Algorithm="{XENC}sha256"/></xenc:EncryptionMethod>'
        )
    else:
        wrapped = public_key.encrypt(
            key, asym.OAEP(mgf=asym.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        )
        method = (
            f'<xenc:EncryptionMethod Algorithm="{XENC11}rsa-oaep">'
            f'<ds:DigestMethod Algorithm="{XENC}sha256"/>'
            f'<xenc11:MGF xmlns:xenc11="{XENC11}" Algorithm="{XENC11}mgf1sha256"/>'
            "</xenc:EncryptionMethod>"
        )

    b64 = lambda b: base64.b64encode(b).decode()
    sys.stdout.write(
        f'<xenc:EncryptedData xmlns:xenc="{XENC}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" '
        f'Type="{XENC}Element"><xenc:EncryptionMethod Algorithm="{content_uri}"/>'
        f"<ds:KeyInfo><xenc:EncryptedKey>{method}<xenc:CipherData><xenc:CipherValue>{b64(wrapped)}"
        "</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>"
        f"<xenc:CipherData><xenc:CipherValue>{b64(ciphertext)}</xenc:CipherValue></xenc:CipherData>"
        "</xenc:EncryptedData>"
    )


if __name__ == "__main__":
    main()
