#!/usr/bin/env python3
"""boto3 checks through Traefik (HTTPS): awkward keys, a few-MB object, listing,
delete, a presigned URL and virtual-hosted-style addressing (Host preserved).

Usage: s3check.py ENDPOINT BUCKET DOMAIN
Env: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_CA_BUNDLE.
Prints one line per check; exits non-zero on the first failure.
"""
import hashlib
import os
import socket
import sys
import urllib.request
import ssl

import boto3
from botocore.config import Config

endpoint, bucket, domain = sys.argv[1], sys.argv[2], sys.argv[3]
port = endpoint.rsplit(":", 1)[1]

# Virtual-hosted style needs <bucket>.<domain> to resolve: map the test domain to
# loopback inside this process only (no /etc/hosts change).
_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and (host == domain or host.endswith("." + domain)):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo

KEYS = [
    "plain.txt",
    "with space/and+plus.txt",
    "percent%25literal%2Bplus",
    "question?mark#hash&amp=eq;semi",
    "unicode/ü/日本語/🙂.bin",
    "double//slash/./dot/../dotdot",
    "tilde~star*paren(1)'quote'!",
    "back\\slash,comma:colon@at$dollar",
    "trailing/",
]


def client(style):
    return boto3.client(
        "s3",
        endpoint_url=endpoint if style == "path" else f"https://{domain}:{port}",
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": style},
            signature_version="s3v4",
            retries={"max_attempts": 5, "mode": "standard"},
        ),
    )


CASE_NOTES = set()


def check(name, cond, detail=""):
    print(f"  {'ok  ' if cond else 'FAIL'} {name}{(': ' + detail) if detail else ''}")
    if not cond:
        sys.exit(1)


s3 = client("path")
s3.create_bucket(Bucket=bucket)
check("create bucket", True, bucket)

for i, key in enumerate(KEYS):
    body = f"body of {key!r} #{i}".encode()
    r = s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/plain",
                      Metadata={"idx": str(i)})
    got = s3.get_object(Bucket=bucket, Key=key)
    data = got["Body"].read()
    check(f"put/get {key!r}", data == body, f"{len(data)} bytes, etag {r['ETag']}")
    meta = {k.lower(): v for k, v in got["Metadata"].items()}
    check(f"x-amz-meta-* round trip {key!r}", meta.get("idx") == str(i), f"Metadata={got['Metadata']}")
    if "idx" not in got["Metadata"]:
        CASE_NOTES.add(f"{sorted(got['Metadata'])} instead of ['idx']")
    check(f"etag is md5 {key!r}", r["ETag"].strip('"') == hashlib.md5(body).hexdigest())

listed = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 4}):
    listed += [o["Key"] for o in page.get("Contents", [])]
check("list_objects_v2 (pages of 4) returns every key in byte order",
      listed == sorted(KEYS, key=lambda k: k.encode()), f"{len(listed)} keys")

big = os.urandom(5 * 1024 * 1024 + 12345)
s3.put_object(Bucket=bucket, Key="big/5MiB.bin", Body=big)
got = s3.get_object(Bucket=bucket, Key="big/5MiB.bin")["Body"].read()
check("5 MiB object round trip", got == big,
      f"md5 {hashlib.md5(got).hexdigest()} == {hashlib.md5(big).hexdigest()}")
rng = s3.get_object(Bucket=bucket, Key="big/5MiB.bin", Range="bytes=1048570-1048600")["Body"].read()
check("range read across a chunk boundary", rng == big[1048570:1048601])

url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": KEYS[3]},
                                ExpiresIn=300)
ctx = ssl.create_default_context(cafile=os.environ["AWS_CA_BUNDLE"])
with urllib.request.urlopen(url, context=ctx) as r:
    check("presigned GET (path style, key with ?#&;)", r.read() == f"body of {KEYS[3]!r} #3".encode())

vh = client("virtual")
body = b"virtual-hosted"
vh.put_object(Bucket=bucket, Key="vh/one two+three", Body=body)
check("virtual-hosted put/get via Host header (bucket.%s)" % domain,
      vh.get_object(Bucket=bucket, Key="vh/one two+three")["Body"].read() == body)
vurl = vh.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "vh/one two+three"})
with urllib.request.urlopen(vurl, context=ctx) as r:
    check("presigned GET (virtual-hosted)", r.read() == body, vurl.split("?")[0])

for key in KEYS + ["big/5MiB.bin", "vh/one two+three"]:
    s3.delete_object(Bucket=bucket, Key=key)
left = s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0)
check("delete every key", left == 0, f"{left} left")
s3.delete_bucket(Bucket=bucket)
check("delete bucket", True)
for n in CASE_NOTES:
    # Go's net/http (so Traefik) canonicalises header names on HTTP/1.1: the edge sends
    # x-amz-meta-idx, the client receives X-Amz-Meta-Idx and boto3 reports key "Idx".
    print(f"  note user-metadata key case changed on the way back through the proxy: {n}")
print("boto3 checks passed")
