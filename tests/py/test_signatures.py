"""Signature forms only Python clients send, against a running jetgate (started by
tests/signatures, one case per run):

  unsigned-trailer ALG...  boto3 over TLS (a local TLS front, as Traefik in a deployment):
                           STREAMING-UNSIGNED-PAYLOAD-TRAILER, Transfer-Encoding: chunked,
                           no Content-Length; ALG is crc32, crc32c, sha1, sha256, sha512,
                           crc64nvme, xxhash64, xxhash3, xxhash128 or default (botocore's
                           own choice, CRC32); crc32c, crc64nvme and the xxHashes need
                           awscrt (botocore computes them only with it)
  sigv2                    boto3 with signature_version='s3': header auth, and
                           generate_presigned_url GET and PUT (query auth)
  sigv2-content-type       a SigV2 presigned PUT with a signed Content-Type
  minio                    minio-py over plain HTTP (SigV4, literal payload SHA-256)

Every request's headers are captured as the client sent them and the form asserted;
every upload is read back and compared, its ETag (and checksum) checked. Each stored
object is printed as `STORED <key> <md5>` for the Rust side to read back again.

Environment: JETGATE_ENDPOINT, JETGATE_ACCESS_KEY, JETGATE_SECRET_KEY, JETGATE_BUCKET,
JETGATE_SCRATCH (a directory for the TLS certificate).
"""

import asyncio
import base64
import hashlib
import http.client
import io
import os
import random
import shutil
import ssl
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
import zlib

import boto3
import botocore.compat
import xxhash
from botocore.config import Config

ENDPOINT = os.environ["JETGATE_ENDPOINT"].rstrip("/")
ACCESS_KEY = os.environ["JETGATE_ACCESS_KEY"]
SECRET_KEY = os.environ["JETGATE_SECRET_KEY"]
BUCKET = os.environ["JETGATE_BUCKET"]
SCRATCH = os.environ["JETGATE_SCRATCH"]
# Past 128 KiB a body streams to the worker instead of riding inline.
SIZES = (3000, 700 * 1024)


def crc_table(poly):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C_TABLE = crc_table(0x82F63B78)
CRC64NVME_TABLE = crc_table(0x9A6C9329AC4BC9B5)


def crc_reflected(data, table, mask):
    crc = mask
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ mask


def checksum(algo, data):
    """base64 x-amz-checksum-<algo> value, computed here (not by botocore or awscrt)."""
    if algo == "crc32":
        raw = (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")
    elif algo == "crc32c":
        raw = crc_reflected(data, CRC32C_TABLE, 0xFFFFFFFF).to_bytes(4, "big")
    elif algo == "crc64nvme":
        raw = crc_reflected(data, CRC64NVME_TABLE, (1 << 64) - 1).to_bytes(8, "big")
    elif algo == "sha1":
        raw = hashlib.sha1(data).digest()
    elif algo == "sha256":
        raw = hashlib.sha256(data).digest()
    elif algo == "sha512":
        raw = hashlib.sha512(data).digest()
    # The reference xxHash library (PyPI `xxhash`), not awscrt's copy of it.
    elif algo == "xxhash64":
        raw = xxhash.xxh64(data).digest()
    elif algo == "xxhash3":
        raw = xxhash.xxh3_64(data).digest()
    elif algo == "xxhash128":
        raw = xxhash.xxh3_128(data).digest()
    else:
        raise ValueError(algo)
    return base64.b64encode(raw).decode()


def data_of(size, seed):
    return random.Random(seed).randbytes(size)


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def stored(key, data):
    print(f"STORED {key} {md5_hex(data)}", flush=True)


class Capture:
    """Headers of every request a boto3 client sends, as sent (after signing)."""

    def __init__(self, client):
        self.requests = []
        client.meta.events.register("before-send.s3", self._record)

    def _record(self, request, **_):
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        self.requests.append((request.method, request.url, headers))

    def last(self, method):
        found = [r for r in self.requests if r[0] == method]
        check(found, f"no {method} request captured")
        return found[-1]


def client(endpoint=ENDPOINT, signature_version="s3v4", verify=None):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        verify=verify,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1, "mode": "standard"},
            signature_version=signature_version,
        ),
    )


def read_back(s3, key, data, algo=None):
    """GET compares bytes and ETag; with `algo`, the stored checksum too."""
    kwargs = {"ChecksumMode": "ENABLED"} if algo else {}
    got = s3.get_object(Bucket=BUCKET, Key=key, **kwargs)
    body = got["Body"].read()
    check(body == data, f"{key}: {len(body)} bytes read back differ from the {len(data)} sent")
    check(got["ETag"] == f'"{md5_hex(data)}"', f"{key}: ETag {got['ETag']}")
    if algo:
        field = "Checksum" + algo.upper()
        check(got.get(field) == checksum(algo, data), f"{key}: {field} {got.get(field)}")


class TlsFront:
    """A TLS front on 127.0.0.1 for the plain-HTTP gateway, with a self-signed
    certificate: botocore sends trailers only over HTTPS."""

    def __init__(self, upstream):
        openssl = shutil.which("openssl")
        check(openssl, "openssl is not on PATH: install it with scripts/setup.sh")
        self.cert = os.path.join(SCRATCH, "front-cert.pem")
        key = os.path.join(SCRATCH, "front-key.pem")
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-keyout", key, "-out", self.cert, "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True,
        )
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, key)
        host, port = urllib.parse.urlsplit(upstream).netloc.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            server = self.loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=ctx))
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        check(ready.wait(10), "TLS front did not start")
        self.endpoint = f"https://127.0.0.1:{self.port}"

    async def _handle(self, client_r, client_w):
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.close()
            return

        async def pump(r, w):
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except (OSError, ssl.SSLError):
                pass

        tasks = [asyncio.ensure_future(pump(client_r, server_w)),
                 asyncio.ensure_future(pump(server_r, client_w))]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        # One side is done: let the answer finish flowing, then close both.
        await asyncio.wait(tasks, timeout=5)
        for t in tasks:
            t.cancel()
        for w in (server_w, client_w):
            w.close()


def unsigned_trailer(algos):
    if any(a in ("crc32c", "crc64nvme") or a.startswith("xxhash") for a in algos):
        check(botocore.compat.HAS_CRT, "awscrt is not importable: run scripts/setup.sh "
              "(it installs awscrt apart, see JETGATE_AWSCRT_DIR)")
    front = TlsFront(ENDPOINT)
    s3 = client(front.endpoint, verify=front.cert)
    cap = Capture(s3)
    for i, algo in enumerate(algos):
        for size in SIZES:
            key = f"py/utrailer-{algo}-{size}.bin"
            data = data_of(size, i * 7 + size)
            kwargs = {} if algo == "default" else {"ChecksumAlgorithm": algo.upper()}
            out = s3.put_object(Bucket=BUCKET, Key=key, Body=data, **kwargs)
            _, _, h = cap.last("PUT")
            want = "crc32" if algo == "default" else algo
            check(h.get("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER", f"{key}: {h}")
            check(h.get("x-amz-trailer") == f"x-amz-checksum-{want}", f"{key}: {h}")
            check(h.get("transfer-encoding") == "chunked", f"{key}: {h}")
            check("content-length" not in h, f"{key}: Content-Length sent: {h}")
            check(h.get("x-amz-decoded-content-length") == str(size), f"{key}: {h}")
            check(out["ETag"] == f'"{md5_hex(data)}"', f"{key}: ETag {out['ETag']}")
            field = "Checksum" + want.upper()
            check(out.get(field) == checksum(want, data), f"{key}: {field} {out.get(field)}")
            read_back(s3, key, data, want)
            stored(key, data)
    # A stream of unknown length: not even x-amz-decoded-content-length.
    key = "py/utrailer-stream.bin"
    data = data_of(SIZES[1], 99)

    class Unseekable(io.RawIOBase):
        def __init__(self, b):
            self._b = io.BytesIO(b)

        def readable(self):
            return True

        def readinto(self, buf):
            return self._b.readinto(buf)

    stream_algo = "crc32" if algos[0] == "default" else algos[0]
    out = s3.put_object(Bucket=BUCKET, Key=key, Body=Unseekable(data), ChecksumAlgorithm=stream_algo.upper())
    _, _, h = cap.last("PUT")
    check(h.get("transfer-encoding") == "chunked", f"{key}: {h}")
    check("content-length" not in h and "x-amz-decoded-content-length" not in h, f"{key}: {h}")
    check(out["ETag"] == f'"{md5_hex(data)}"', f"{key}: ETag {out['ETag']}")
    read_back(s3, key, data, stream_algo)
    stored(key, data)


def sigv2():
    v2 = client(signature_version="s3")
    v4 = client()
    cap = Capture(v2)
    for size in SIZES:
        key = f"py/v2-header-{size}.bin"
        data = data_of(size, size + 1)
        out = v2.put_object(Bucket=BUCKET, Key=key, Body=data)
        _, _, h = cap.last("PUT")
        check(h["authorization"].startswith(f"AWS {ACCESS_KEY}:"), f"{key}: {h['authorization']}")
        check(out["ETag"] == f'"{md5_hex(data)}"', f"{key}: ETag {out['ETag']}")
        got = v2.get_object(Bucket=BUCKET, Key=key)
        _, _, h = cap.last("GET")
        check(h["authorization"].startswith(f"AWS {ACCESS_KEY}:"), f"{key}: {h['authorization']}")
        check(got["Body"].read() == data, f"{key}: SigV2 GET returned other bytes")
        read_back(v4, key, data)
        stored(key, data)

        # Query auth: PUT through a presigned URL, GET through another.
        key = f"py/v2-presigned-{size}.bin"
        data = data_of(size, size + 2)
        url = v2.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600)
        check_v2_url(url)
        status, headers, body = raw_put(url, data, {})
        check(status == 200, f"presigned PUT: {status} {body!r}")
        check(headers["etag"] == f'"{md5_hex(data)}"', f"presigned PUT ETag {headers['etag']}")
        read_back(v4, key, data)
        url = v2.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600)
        check_v2_url(url)
        body = urllib.request.urlopen(url, timeout=60).read()
        check(body == data, "presigned GET returned other bytes")
        stored(key, data)


def check_v2_url(url):
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    check({"AWSAccessKeyId", "Signature", "Expires"} <= set(q), f"not a SigV2 URL: {url}")
    check(not any(k.startswith("X-Amz-") for k in q), f"not a SigV2 URL: {url}")


def raw_put(url, data, headers):
    """PUT with exactly `headers` (urllib would add a form Content-Type, which SigV2
    signs)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.netloc, timeout=60)
    try:
        conn.request("PUT", f"{u.path}?{u.query}", body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def sigv2_content_type():
    """A presigned PUT whose Content-Type botocore signs: it puts `content-type` in the
    query string, next to the SigV2 parameters."""
    v2 = client(signature_version="s3")
    key = "py/v2-presigned-content-type.bin"
    data = data_of(SIZES[0], 5)
    ctype = "application/octet-stream"
    url = v2.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": key, "ContentType": ctype}, ExpiresIn=600)
    check_v2_url(url)
    status, headers, body = raw_put(url, data, {"Content-Type": ctype})
    check(status == 200, f"presigned PUT with ContentType: {status} {body!r}")
    check(headers["etag"] == f'"{md5_hex(data)}"', f"presigned PUT ETag {headers['etag']}")
    got = client().get_object(Bucket=BUCKET, Key=key)
    check(got["ContentType"] == ctype, f"Content-Type {got['ContentType']}")
    read_back(client(), key, data)
    stored(key, data)


def minio_literal():
    import urllib3
    from minio import Minio

    sent = []

    class Recording(urllib3.PoolManager):
        def urlopen(self, method, url, *args, **kwargs):
            sent.append((method, {k.lower(): v for k, v in (kwargs.get("headers") or {}).items()}))
            return super().urlopen(method, url, *args, **kwargs)

    netloc = urllib.parse.urlsplit(ENDPOINT).netloc
    mc = Minio(netloc, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False,
               region="us-east-1", http_client=Recording())
    v4 = client()
    for size in SIZES:
        key = f"py/minio-{size}.bin"
        data = data_of(size, size + 3)
        res = mc.put_object(BUCKET, key, io.BytesIO(data), length=size)
        puts = [h for m, h in sent if m == "PUT"]
        h = puts[-1]
        check(h.get("x-amz-content-sha256") == hashlib.sha256(data).hexdigest(),
              f"{key}: minio-py did not sign the payload hash: {h.get('x-amz-content-sha256')}")
        check(res.etag == md5_hex(data), f"{key}: ETag {res.etag}")
        r = mc.get_object(BUCKET, key)
        try:
            check(r.read() == data, f"{key}: minio GET returned other bytes")
        finally:
            r.close()
            r.release_conn()
        read_back(v4, key, data)
        stored(key, data)


def main():
    case, args = sys.argv[1], sys.argv[2:]
    if case == "unsigned-trailer":
        unsigned_trailer(args)
    elif case == "sigv2":
        sigv2()
    elif case == "sigv2-content-type":
        sigv2_content_type()
    elif case == "minio":
        minio_literal()
    else:
        raise SystemExit(f"unknown case {case}")
    print(f"DONE {case}", flush=True)


if __name__ == "__main__":
    main()
