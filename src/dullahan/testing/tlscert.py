"""A throw-away self-signed certificate for 127.0.0.1/localhost, for TLS on loopback (soak, benchmarks).

Made with the ``openssl`` command when it is installed, else with ``trustme`` when it is importable (a test
dependency); otherwise it says what to install.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


class CertError(Exception):
    pass


def make_self_signed(directory: Path) -> tuple[Path, Path]:
    """Write ``cert.pem`` and ``key.pem`` into ``directory``; the certificate is its own trust anchor."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    openssl = shutil.which("openssl")
    if openssl:
        result = subprocess.run(
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "7", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-addext", "basicConstraints=critical,CA:TRUE"],
            capture_output=True, text=True, timeout=60)
        if result.returncode == 0:
            key.chmod(0o600)
            return cert, key
        openssl_error = result.stderr.strip()[-500:]
    else:
        openssl_error = "openssl is not installed"
    try:
        import trustme
    except ImportError:
        raise CertError("--tls needs a certificate: install the openssl command or the trustme package "
                        f"(pip install trustme); openssl: {openssl_error}") from None
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    issued.private_key_pem.write_to_path(str(key))
    key.chmod(0o600)
    with open(cert, "wb") as f:
        for blob in issued.cert_chain_pems:
            f.write(blob.bytes())
        f.write(ca.cert_pem.bytes())   # the CA too: the file is then both the chain and the trust anchor
    return cert, key
