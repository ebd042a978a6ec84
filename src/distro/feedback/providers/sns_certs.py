"""The SNS signing certificate: fetched once per URL, and trusted only if it chains to a trusted CA.

SNS serves only the leaf at ``SigningCertURL`` (its issuer, "Amazon RSA 2048 M0x", is in no system store),
so when the PEM holds the leaf alone its issuer is fetched from the leaf's AIA "CA Issuers" URL, and only
from ``*.amazontrust.com``. That intermediate is not trusted for being fetched: the chain must still end at
a CA of ``sns_ca_file`` or of the system store, at ``now``, with an SNS name on the leaf.
"""

from __future__ import annotations

import re
import ssl
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from distro.feedback.providers.call import ForgedCall, NotConfigured, aware

# url -> bytes (PEM or DER). Called with the checked SigningCertURL (https, SNS host) and, for a leaf
# served alone, its issuer's AIA URL (http://crt.*.amazontrust.com/...). It should not follow redirects,
# should limit time and size, and what it raises propagates (a DistroError: the route answers 5xx, SNS
# retries).
CertificateFetcher = Callable[[str], bytes]

CACHE_SIZE = 16
_SNS_NAME = re.compile(r"sns(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?")
_ISSUER_HOST = re.compile(r"([a-z0-9-]+\.)*amazontrust\.com")
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)

_cache: OrderedDict[str, tuple[x509.Certificate, ...]] = OrderedDict()
_cache_lock = threading.Lock()
_fetch_lock = threading.Lock()  # one fetch at a time, so a burst for one URL fetches it once


def forget_certificates() -> None:
    """Empties the URL cache (tests; or after an operator replaced sns_ca_file)."""
    with _cache_lock:
        _cache.clear()
    _trust_store.cache_clear()


def trusted_leaf(
    url: str, fetch: CertificateFetcher, ca_file: Path | None, now: datetime
) -> x509.Certificate:
    """The leaf certificate at ``url``, once its chain is verified; ForgedCall otherwise."""
    chain = _certificates(url, fetch)
    leaf, intermediates = chain[0], list(chain[1:])
    if not intermediates and (issuer_url := _issuer_url(leaf)):
        intermediates = list(_certificates(issuer_url, fetch))
    name = _sns_name(leaf)
    verifier = (
        PolicyBuilder()
        .store(_trust_store(ca_file))
        .time(aware(now))
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_LEAF_POLICY)
        .build_server_verifier(x509.DNSName(name))
    )
    try:
        verifier.verify(leaf, intermediates)
    except VerificationError:
        raise ForgedCall("SNS: the signing certificate is not trusted (issuer, validity or name)") from None
    return leaf


def _certificates(url: str, fetch: CertificateFetcher) -> tuple[x509.Certificate, ...]:
    if (hit := _cached(url)) is not None:
        return hit
    with _fetch_lock:
        if (hit := _cached(url)) is not None:
            return hit
        certificates = _parse(fetch(url))
        with _cache_lock:
            _cache[url] = certificates
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return certificates


def _cached(url: str) -> tuple[x509.Certificate, ...] | None:
    with _cache_lock:
        if url in _cache:
            _cache.move_to_end(url)
            return _cache[url]
    return None


def _parse(data: bytes) -> tuple[x509.Certificate, ...]:
    """PEM (the leaf, maybe followed by intermediates) or one DER certificate (an AIA issuer)."""
    try:
        if b"-----BEGIN" in data:
            return tuple(x509.load_pem_x509_certificates(data))
        return (x509.load_der_x509_certificate(data),)
    except ValueError:
        raise ForgedCall("SNS: the signing certificate cannot be read") from None


def _issuer_url(leaf: x509.Certificate) -> str | None:
    """The leaf's AIA "CA Issuers" URL, if it is on Amazon Trust Services' host."""
    try:
        access = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return None
    for description in access:
        location = description.access_location
        if description.access_method != AuthorityInformationAccessOID.CA_ISSUERS or not isinstance(
            location, x509.UniformResourceIdentifier
        ):
            continue
        parts = urlsplit(location.value)
        if parts.scheme in ("http", "https") and _ISSUER_HOST.fullmatch(parts.netloc.lower()):
            return location.value
    return None


def _sns_name(leaf: x509.Certificate) -> str:
    """The SNS DNS name the leaf is issued to (its subjectAltName; the verifier checks the match)."""
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        names = None
    dns_names = names.get_values_for_type(x509.DNSName) if names else []
    for name in dns_names:
        if _SNS_NAME.fullmatch(name.lower()):
            return name.lower()
    raise ForgedCall("SNS: the signing certificate is not issued to an SNS name")


def _server_auth(policy: Policy, certificate: x509.Certificate, usage: x509.ExtendedKeyUsage | None) -> None:
    if usage is not None and ExtendedKeyUsageOID.SERVER_AUTH not in usage:
        raise ValueError("extended key usage without serverAuth")


# The Web PKI rules for a leaf, except that subjectAltName and extendedKeyUsage may be marked critical
# (private CAs and trustme do): criticality is not what makes a signer trustworthy. serverAuth is still
# required when an EKU is present, as in the Web PKI defaults.
_LEAF_POLICY = (
    ExtensionPolicy.webpki_defaults_ee()
    .require_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _server_auth)
)


@lru_cache(maxsize=4)
def _trust_store(ca_file: Path | None) -> Store:
    """The CAs a signing certificate must chain to: ``sns_ca_file``, else the system's (loaded once)."""
    if ca_file is not None:
        try:
            data = ca_file.read_bytes()
        except OSError as exc:
            raise NotConfigured(f"DISTRO_BOUNCES__SNS_CA_FILE {ca_file}: {exc.strerror}") from None
        certificates = list(_pem_certificates(data))
        if not certificates:
            raise NotConfigured(f"DISTRO_BOUNCES__SNS_CA_FILE {ca_file}: no PEM certificate in it")
        return Store(certificates)
    certificates = list(_system_certificates())
    if not certificates:
        raise NotConfigured("no system CA certificates found; set DISTRO_BOUNCES__SNS_CA_FILE")
    return Store(certificates)


def _system_certificates() -> Iterator[x509.Certificate]:
    paths = ssl.get_default_verify_paths()
    for name in (paths.cafile, paths.openssl_cafile):
        if name and Path(name).is_file():
            yield from _pem_certificates(Path(name).read_bytes())
            return
    for name in (paths.capath, paths.openssl_capath):
        if name and Path(name).is_dir():
            for path in sorted(Path(name).iterdir()):
                if path.is_file():
                    yield from _pem_certificates(path.read_bytes())
            return


def _pem_certificates(data: bytes) -> Iterator[x509.Certificate]:
    """Each readable certificate of a PEM bundle; an unreadable one is skipped, not fatal to the rest."""
    for block in _PEM_BLOCK.finditer(data):
        with warnings.catch_warnings():  # a system root with a negative serial: still a root
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            try:
                yield x509.load_pem_x509_certificate(block.group(0))
            except ValueError:
                continue
