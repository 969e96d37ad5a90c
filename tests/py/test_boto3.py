"""boto3 against a running jetgate (started by tests/boto3.rs).

Environment: JETGATE_ENDPOINT (http://127.0.0.1:PORT), JETGATE_ACCESS_KEY,
JETGATE_SECRET_KEY, JETGATE_DOMAIN (the edge's --domain, for virtual-hosted style).
Run: python3 tests/py/test_boto3.py -v
"""

import datetime
import hashlib
import base64
import os
import socket
import sys
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

import boto3
import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ENDPOINT = os.environ["JETGATE_ENDPOINT"].rstrip("/")
ACCESS_KEY = os.environ["JETGATE_ACCESS_KEY"]
SECRET_KEY = os.environ["JETGATE_SECRET_KEY"]
DOMAIN = os.environ.get("JETGATE_DOMAIN", "jetgate.test")
REGION = "us-east-1"
PORT = urllib.parse.urlparse(ENDPOINT).port

# `*.jetgate.test` resolves to the gateway, so virtual-hosted-style URLs reach it.
_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and (host == DOMAIN or host.endswith("." + DOMAIN)):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo


def client(addressing_style="path", access=ACCESS_KEY, secret=SECRET_KEY, endpoint=ENDPOINT):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name=REGION,
        config=Config(
            s3={"addressing_style": addressing_style},
            retries={"max_attempts": 1, "mode": "standard"},
            signature_version="s3v4",
        ),
    )


def unique_bucket(tag):
    return "py-%s-%s" % (tag, uuid.uuid4().hex[:12])


class signing_clock:
    """Signs requests as if the clock were `offset` away (patches botocore's clock)."""

    def __init__(self, offset):
        self.offset = offset

    def __enter__(self):
        self.saved = botocore.auth.get_current_datetime
        botocore.auth.get_current_datetime = lambda: self.saved() + self.offset
        return self

    def __exit__(self, *exc):
        botocore.auth.get_current_datetime = self.saved


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def status_of(err):
    return err.response["ResponseMetadata"]["HTTPStatusCode"]


def code_of(err):
    return err.response.get("Error", {}).get("Code")


def http(method, url, body=None, headers=None):
    """Plain urllib request; returns (status, headers, body) for any status."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def signed(method, path, body=b"", headers=None, payload_hash=None, query=""):
    """A SigV4-signed raw request (botocore's signer), for headers no client sends."""
    url = ENDPOINT + path + (("?" + query) if query else "")
    headers = dict(headers or {})
    headers["x-amz-content-sha256"] = payload_hash or hashlib.sha256(body).hexdigest()
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(req)
    prepared = req.prepare()
    return http(method, prepared.url, body=body if body else None, headers=dict(prepared.headers))


class Base(unittest.TestCase):
    style = "path"

    def setUp(self):
        self.s3 = client(self.style)
        self.bucket = unique_bucket(self.style[:4])
        self.s3.create_bucket(Bucket=self.bucket)

    def assertClientError(self, status, code, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(status_of(cm.exception), status, cm.exception.response)
        if code is not None:
            self.assertEqual(code_of(cm.exception), code, cm.exception.response)
        self.assertTrue(
            cm.exception.response["ResponseMetadata"].get("RequestId"),
            "error without x-amz-request-id",
        )
        return cm.exception

    def keys(self, **kwargs):
        out = self.s3.list_objects_v2(Bucket=self.bucket, **kwargs)
        return [o["Key"] for o in out.get("Contents", [])]


class ObjectOps:
    """Operations run in both addressing styles."""

    def test_bucket_ops(self):
        s3 = self.s3
        s3.head_bucket(Bucket=self.bucket)
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        self.assertIn(self.bucket, names)
        loc = s3.get_bucket_location(Bucket=self.bucket).get("LocationConstraint")
        self.assertIn(loc, (None, "", "us-east-1"))
        s3.put_object(Bucket=self.bucket, Key="k", Body=b"x")
        self.assertClientError(409, "BucketNotEmpty", s3.delete_bucket, Bucket=self.bucket)
        s3.delete_object(Bucket=self.bucket, Key="k")
        s3.delete_bucket(Bucket=self.bucket)
        self.assertClientError(404, None, s3.head_bucket, Bucket=self.bucket)
        s3.create_bucket(Bucket=self.bucket)

    def test_put_get_head_metadata(self):
        s3 = self.s3
        body = os.urandom(200_000)
        out = s3.put_object(
            Bucket=self.bucket,
            Key="dir/obj.bin",
            Body=body,
            ContentType="application/octet-stream+x",
            ContentEncoding="identity",
            ContentDisposition='inline; filename="o.bin"',
            ContentLanguage="fr",
            CacheControl="no-cache",
            Expires=datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc),
            Metadata={"alpha": "1", "beta-key": "two words"},
        )
        self.assertEqual(out["ETag"], '"%s"' % md5_hex(body))
        self.assertTrue(out["ResponseMetadata"]["HTTPHeaders"].get("x-amz-request-id"))
        for op in (s3.head_object, s3.get_object):
            r = op(Bucket=self.bucket, Key="dir/obj.bin")
            self.assertEqual(r["ETag"], '"%s"' % md5_hex(body))
            self.assertEqual(r["ContentLength"], len(body))
            self.assertEqual(r["ContentType"], "application/octet-stream+x")
            self.assertEqual(r["ContentEncoding"], "identity")
            self.assertEqual(r["ContentDisposition"], 'inline; filename="o.bin"')
            self.assertEqual(r["ContentLanguage"], "fr")
            self.assertEqual(r["CacheControl"], "no-cache")
            self.assertEqual(
                r["ResponseMetadata"]["HTTPHeaders"].get("expires"),
                "Fri, 01 Jan 2100 00:00:00 GMT",
            )
            self.assertEqual(r["Metadata"], {"alpha": "1", "beta-key": "two words"})
            self.assertIsInstance(r["LastModified"], datetime.datetime)
            if op is s3.get_object:
                self.assertEqual(r["Body"].read(), body)

    def test_missing_keys(self):
        self.assertClientError(404, "NoSuchKey", self.s3.get_object, Bucket=self.bucket, Key="nope")
        self.assertClientError(404, None, self.s3.head_object, Bucket=self.bucket, Key="nope")
        r = self.s3.delete_object(Bucket=self.bucket, Key="nope")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)

    def test_delete_objects(self):
        for k in ("a", "b", "c"):
            self.s3.put_object(Bucket=self.bucket, Key=k, Body=k.encode())
        r = self.s3.delete_objects(
            Bucket=self.bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "zz"}]}
        )
        self.assertEqual(sorted(d["Key"] for d in r.get("Deleted", [])), ["a", "zz"])
        r = self.s3.delete_objects(
            Bucket=self.bucket, Delete={"Objects": [{"Key": "b"}], "Quiet": True}
        )
        self.assertEqual(r.get("Deleted", []), [])
        self.assertEqual(r.get("Errors", []), [])
        self.assertEqual(self.keys(), ["c"])

    def test_copy_object(self):
        src = "src/ä b+c.txt"
        self.s3.put_object(
            Bucket=self.bucket, Key=src, Body=b"copy me", ContentType="text/x-a", Metadata={"m": "1"}
        )
        r = self.s3.copy_object(
            Bucket=self.bucket, Key="dst1", CopySource={"Bucket": self.bucket, "Key": src}
        )
        self.assertEqual(r["CopyObjectResult"]["ETag"], '"%s"' % md5_hex(b"copy me"))
        h = self.s3.head_object(Bucket=self.bucket, Key="dst1")
        self.assertEqual((h["ContentType"], h["Metadata"]), ("text/x-a", {"m": "1"}))
        self.s3.copy_object(
            Bucket=self.bucket,
            Key="dst2",
            CopySource={"Bucket": self.bucket, "Key": src},
            MetadataDirective="REPLACE",
            ContentType="text/x-b",
            Metadata={"n": "2"},
        )
        h = self.s3.head_object(Bucket=self.bucket, Key="dst2")
        self.assertEqual((h["ContentType"], h["Metadata"]), ("text/x-b", {"n": "2"}))
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="dst2")["Body"].read(), b"copy me")

    def test_range_and_conditionals(self):
        body = bytes(range(256)) * 4
        etag = self.s3.put_object(Bucket=self.bucket, Key="r", Body=body)["ETag"]
        r = self.s3.get_object(Bucket=self.bucket, Key="r", Range="bytes=100-199")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(r["ContentRange"], "bytes 100-199/1024")
        self.assertEqual(r["Body"].read(), body[100:200])
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="r", Range="bytes=1000-")["Body"].read(), body[1000:])
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="r", Range="bytes=-24")["Body"].read(), body[-24:])
        self.assertClientError(416, "InvalidRange", self.s3.get_object, Bucket=self.bucket, Key="r", Range="bytes=5000-")
        self.s3.get_object(Bucket=self.bucket, Key="r", IfMatch=etag)
        self.assertClientError(412, "PreconditionFailed", self.s3.get_object, Bucket=self.bucket, Key="r", IfMatch='"x"')
        self.assertClientError(304, None, self.s3.get_object, Bucket=self.bucket, Key="r", IfNoneMatch=etag)
        lm = self.s3.head_object(Bucket=self.bucket, Key="r")["LastModified"]
        self.assertClientError(
            304, None, self.s3.get_object, Bucket=self.bucket, Key="r", IfModifiedSince=lm + datetime.timedelta(hours=1)
        )
        self.assertClientError(
            412, None, self.s3.head_object, Bucket=self.bucket, Key="r", IfUnmodifiedSince=lm - datetime.timedelta(hours=1)
        )
        self.s3.put_object(Bucket=self.bucket, Key="new", Body=b"1", IfNoneMatch="*")
        self.assertClientError(
            412, "PreconditionFailed", self.s3.put_object, Bucket=self.bucket, Key="new", Body=b"2", IfNoneMatch="*"
        )

    def test_listing(self):
        keys = ["a", "b/1", "b/2", "b/c/3", "d", "e f/g"]
        for k in keys:
            self.s3.put_object(Bucket=self.bucket, Key=k, Body=b"")
        self.assertEqual(self.keys(), keys)
        r = self.s3.list_objects_v2(Bucket=self.bucket, Delimiter="/")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["a", "d"])
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["b/", "e f/"])
        self.assertEqual(r["KeyCount"], 4)
        paginator = self.s3.get_paginator("list_objects_v2")
        pages = list(paginator.paginate(Bucket=self.bucket, PaginationConfig={"PageSize": 2}))
        self.assertEqual(len(pages), 3)
        self.assertEqual([o["Key"] for p in pages for o in p.get("Contents", [])], keys)
        pages = list(self.s3.get_paginator("list_objects").paginate(Bucket=self.bucket, PaginationConfig={"PageSize": 4}))
        self.assertEqual([o["Key"] for p in pages for o in p.get("Contents", [])], keys)
        self.assertEqual(self.keys(StartAfter="b/c/3"), ["d", "e f/g"])
        self.assertEqual(self.keys(Prefix="b/c"), ["b/c/3"])
        r = self.s3.list_objects(Bucket=self.bucket, Prefix="b/", Delimiter="/")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["b/1", "b/2"])
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["b/c/"])

    def test_awkward_keys(self):
        keys = ["sp ace", "plus+", "pct%41", "eq=al", "ünï/çødé", "x/" * 20 + "deep", "amp&q?h#"]
        for i, k in enumerate(keys):
            self.s3.put_object(Bucket=self.bucket, Key=k, Body=str(i).encode())
        for i, k in enumerate(keys):
            self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key=k)["Body"].read(), str(i).encode(), k)
        self.assertEqual(self.keys(), sorted(keys))
        # boto3 asks for encoding-type=url and decodes the keys again.
        r = self.s3.list_objects_v2(Bucket=self.bucket, EncodingType="url")
        # Asked for explicitly, the keys come back encoded exactly as S3 does it (space as
        # `+`, `/` kept, uppercase hex), written out by hand and in key order.
        self.assertEqual(r["EncodingType"], "url")
        encoded = {
            "sp ace": "sp+ace",
            "plus+": "plus%2B",
            "pct%41": "pct%2541",
            "eq=al": "eq%3Dal",
            "ünï/çødé": "%C3%BCn%C3%AF/%C3%A7%C3%B8d%C3%A9",
            "x/" * 20 + "deep": "x/" * 20 + "deep",
            "amp&q?h#": "amp%26q%3Fh%23",
        }
        self.assertEqual([o["Key"] for o in r["Contents"]], [encoded[k] for k in sorted(keys)])
        self.assertEqual([urllib.parse.unquote_plus(o["Key"]) for o in r["Contents"]], sorted(keys))
        self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys]})
        self.assertEqual(self.keys(), [])


class PathStyle(Base, ObjectOps):
    style = "path"


class VirtualHostedStyle(Base, ObjectOps):
    style = "virtual"

    def setUp(self):
        self.s3 = client("virtual", endpoint="http://%s:%d" % (DOMAIN, PORT))
        self.bucket = unique_bucket("vh")
        self.s3.create_bucket(Bucket=self.bucket)

    def test_requests_really_are_virtual_hosted(self):
        seen = []
        self.s3.meta.events.register("before-send.s3.*", lambda request, **kw: seen.append(request.url))
        self.s3.put_object(Bucket=self.bucket, Key="vh-key", Body=b"v")
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="vh-key")["Body"].read(), b"v")
        self.assertTrue(seen, "no request seen")
        for url in seen:
            host = urllib.parse.urlparse(url).hostname
            self.assertEqual(host, "%s.%s" % (self.bucket, DOMAIN), url)
        # The same object, path style.
        self.assertEqual(client().get_object(Bucket=self.bucket, Key="vh-key")["Body"].read(), b"v")


class Errors(Base):
    def test_invalid_bucket_name(self):
        self.assertClientError(400, "InvalidBucketName", self.s3.create_bucket, Bucket="Not_Valid")

    def test_dotted_bucket(self):
        b = unique_bucket("dots") + ".a.b"
        self.s3.create_bucket(Bucket=b)
        self.s3.put_object(Bucket=b, Key="k", Body=b"dotted")
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"dotted")
        self.assertIn(b, [x["Name"] for x in self.s3.list_buckets()["Buckets"]])

    def test_bad_signature_unknown_key(self):
        bad = client(secret="wrong-secret")
        self.assertClientError(403, "SignatureDoesNotMatch", bad.put_object, Bucket=self.bucket, Key="k", Body=b"x")
        unknown = client(access="AKIAUNKNOWNKEY")
        self.assertClientError(403, "InvalidAccessKeyId", unknown.put_object, Bucket=self.bucket, Key="k", Body=b"x")
        self.assertEqual(self.keys(), [])

    def test_skewed_clock(self):
        with signing_clock(-datetime.timedelta(hours=1)):
            self.assertClientError(403, "RequestTimeTooSkewed", self.s3.list_objects_v2, Bucket=self.bucket)
            self.assertClientError(
                403, "RequestTimeTooSkewed", self.s3.put_object, Bucket=self.bucket, Key="skew", Body=b"x"
            )
        with signing_clock(datetime.timedelta(hours=1)):
            self.assertClientError(403, "RequestTimeTooSkewed", self.s3.list_objects_v2, Bucket=self.bucket)
        self.assertEqual(self.keys(), [])

    def test_presigned_get_put_and_expiry(self):
        url = self.s3.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": "pre/sig ned.txt"}, ExpiresIn=300
        )
        status, headers, body = http("PUT", url, body=b"presigned body")
        self.assertEqual(status, 200, body)
        url = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": "pre/sig ned.txt"}, ExpiresIn=300
        )
        status, headers, body = http("GET", url)
        self.assertEqual((status, body), (200, b"presigned body"))
        self.assertIn("x-amz-request-id", {k.lower() for k in headers})
        # Expired: signed with X-Amz-Expires=1 two hours ago.
        with signing_clock(-datetime.timedelta(hours=2)):
            url = self.s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": "pre/sig ned.txt"}, ExpiresIn=3600
            )
        # Within its 7-day validity a presigned URL is not subject to the skew window.
        with signing_clock(-datetime.timedelta(hours=2)):
            fresh = self.s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": "pre/sig ned.txt"}, ExpiresIn=3 * 3600
            )
        status, headers, body = http("GET", fresh)
        self.assertEqual((status, body), (200, b"presigned body"))
        status, headers, body = http("GET", url)
        self.assertEqual(status, 403, body)
        self.assertIn(b"<Code>AccessDenied</Code>", body)

    def test_content_sha256_mismatch(self):
        path = "/%s/sha" % self.bucket
        status, _, body = signed("PUT", path, body=b"actual body", payload_hash=hashlib.sha256(b"other").hexdigest())
        self.assertEqual(status, 400, body)
        self.assertIn(b"<Code>XAmzContentSHA256Mismatch</Code>", body)
        status, _, body = signed("PUT", path, body=b"actual body")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="sha")["Body"].read(), b"actual body")
        status, _, body = signed("PUT", "/%s/sha2" % self.bucket, body=b"x", payload_hash="0" * 64)
        self.assertEqual(status, 400, body)
        self.assertIn(b"<Code>XAmzContentSHA256Mismatch</Code>", body)
        self.assertEqual(self.keys(), ["sha"])

    def test_content_md5_mismatch(self):
        wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        self.assertClientError(400, "BadDigest", self.s3.put_object, Bucket=self.bucket, Key="m", Body=b"body", ContentMD5=wrong)
        self.assertEqual(self.keys(), [])

    def test_not_implemented_subresources(self):
        for sub in ("analytics&id=x", "inventory&id=x", "metrics&id=x"):
            status, headers, body = signed("GET", "/%s" % self.bucket, query=sub)
            self.assertEqual(status, 501, (sub, body))
            self.assertIn(b"<Code>NotImplemented</Code>", body, sub)
            self.assertIn("x-amz-request-id", {k.lower() for k in headers})
            # Answered only once the signature holds: anonymous and wrongly signed
            # callers get AWS's 403, not the 501.
            status, _, body = http("GET", "%s/%s?%s" % (ENDPOINT, self.bucket, sub))
            self.assertEqual(status, 403, (sub, body))
            self.assertIn(b"<Code>AccessDenied</Code>", body, sub)
        self.assertClientError(404, "NoSuchTagSet", self.s3.get_bucket_tagging, Bucket=self.bucket)
        forger = client(secret="not-the-secret")
        self.assertClientError(403, "SignatureDoesNotMatch", forger.get_bucket_tagging, Bucket=self.bucket)
        self.assertClientError(403, "SignatureDoesNotMatch", forger.get_bucket_acl, Bucket=self.bucket)
        self.assertClientError(403, "SignatureDoesNotMatch", forger.get_bucket_policy, Bucket=self.bucket)
        self.s3.head_bucket(Bucket=self.bucket)

    def test_acls_owner_full_control_only(self):
        """One ACL per bucket and object: the owner with FULL_CONTROL. Owner-only canned
        ACLs are accepted; any other grant is 501 and nothing is stored."""
        s3, b = self.s3, self.bucket
        owner = s3.list_buckets()["Owner"]
        s3.put_object(Bucket=b, Key="k", Body=b"x", ACL="private")
        for acl in (s3.get_bucket_acl(Bucket=b), s3.get_object_acl(Bucket=b, Key="k")):
            self.assertEqual(acl["Owner"]["ID"], owner["ID"])
            self.assertEqual(len(acl["Grants"]), 1, acl["Grants"])
            grant = acl["Grants"][0]
            self.assertEqual(grant["Permission"], "FULL_CONTROL")
            self.assertEqual((grant["Grantee"]["Type"], grant["Grantee"]["ID"]), ("CanonicalUser", owner["ID"]))
        self.assertClientError(404, "NoSuchKey", s3.get_object_acl, Bucket=b, Key="missing")
        self.assertClientError(404, "NoSuchBucket", s3.get_bucket_acl, Bucket=b + "-none")
        s3.put_bucket_acl(Bucket=b, ACL="private")
        s3.put_object_acl(Bucket=b, Key="k", ACL="bucket-owner-full-control")
        self.assertClientError(501, "NotImplemented", s3.put_bucket_acl, Bucket=b, ACL="public-read")
        self.assertClientError(501, "NotImplemented", s3.put_object_acl, Bucket=b, Key="k", ACL="public-read")
        self.assertClientError(501, "NotImplemented", s3.put_bucket_acl, Bucket=b, AccessControlPolicy={
            "Owner": {"ID": owner["ID"]},
            "Grants": [{"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                        "Permission": "READ"}]})
        # Writes asking for grants: refused, nothing stored.
        self.assertClientError(501, "NotImplemented", s3.put_object, Bucket=b, Key="public", Body=b"x",
                               ACL="public-read")
        self.assertClientError(501, "NotImplemented", s3.put_object, Bucket=b, Key="granted", Body=b"x",
                               GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"')
        self.assertClientError(501, "NotImplemented", s3.copy_object, Bucket=b, Key="copied",
                               CopySource={"Bucket": b, "Key": "k"}, ACL="public-read-write")
        self.assertClientError(501, "NotImplemented", s3.create_multipart_upload, Bucket=b, Key="mpu",
                               ACL="authenticated-read")
        self.assertEqual([o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]], ["k"])
        self.assertNotIn("Uploads", s3.list_multipart_uploads(Bucket=b))
        status, _, body = http("GET", "%s/%s?acl" % (ENDPOINT, b))
        self.assertEqual(status, 403, body)

    def test_multipart_on_a_missing_bucket_is_no_such_bucket(self):
        """As S3: NoSuchBucket for every multipart call on a bucket that does not exist,
        not NoSuchUpload and not an empty listing."""
        s3, none = self.s3, self.bucket + "-none"
        self.assertClientError(404, "NoSuchBucket", s3.list_multipart_uploads, Bucket=none)
        self.assertClientError(404, "NoSuchBucket", s3.create_multipart_upload, Bucket=none, Key="k")
        for fn, kw in [
            (s3.list_parts, {}),
            (s3.abort_multipart_upload, {}),
            (s3.upload_part, {"PartNumber": 1, "Body": b"x"}),
            (s3.complete_multipart_upload,
             {"MultipartUpload": {"Parts": [{"PartNumber": 1, "ETag": '"%s"' % md5_hex(b"x")}]}}),
        ]:
            self.assertClientError(404, "NoSuchBucket", fn, Bucket=none, Key="k", UploadId="abc123", **kw)
        # In a bucket that exists, an unknown upload is still NoSuchUpload.
        self.assertClientError(404, "NoSuchUpload", s3.list_parts, Bucket=self.bucket, Key="k",
                               UploadId="abc123")
        self.assertNotIn("Uploads", s3.list_multipart_uploads(Bucket=self.bucket))

    def test_empty_continuation_token_is_absent(self):
        s3, b = self.s3, self.bucket
        for k in ("a", "b", "c"):
            s3.put_object(Bucket=b, Key=k, Body=b"x")
        r = s3.list_objects_v2(Bucket=b, ContinuationToken="")
        self.assertEqual(r["ContinuationToken"], "")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["a", "b", "c"])
        r = s3.list_objects_v2(Bucket=b, ContinuationToken="", StartAfter="a")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["b", "c"])

    def test_bucket_configurations_read_as_never_set(self):
        """What AWS answers for a bucket with nothing configured (s3cmd info, Terraform
        and SDK helpers read these); writes are 501 and change nothing."""
        s3, b = self.s3, self.bucket
        s3.put_object(Bucket=b, Key="k", Body=b"x")
        for code, fn in [
            ("NoSuchBucketPolicy", s3.get_bucket_policy),
            ("NoSuchLifecycleConfiguration", s3.get_bucket_lifecycle_configuration),
            ("NoSuchPublicAccessBlockConfiguration", s3.get_public_access_block),
            ("OwnershipControlsNotFoundError", s3.get_bucket_ownership_controls),
            ("ServerSideEncryptionConfigurationNotFoundError", s3.get_bucket_encryption),
            ("NoSuchWebsiteConfiguration", s3.get_bucket_website),
            ("ReplicationConfigurationNotFoundError", s3.get_bucket_replication),
            ("ObjectLockConfigurationNotFoundError", s3.get_object_lock_configuration),
        ]:
            self.assertClientError(404, code, fn, Bucket=b)
        self.assertEqual(s3.get_bucket_request_payment(Bucket=b)["Payer"], "BucketOwner")
        self.assertNotIn("LoggingEnabled", s3.get_bucket_logging(Bucket=b))
        self.assertNotIn("Status", s3.get_bucket_accelerate_configuration(Bucket=b))
        notif = s3.get_bucket_notification_configuration(Bucket=b)
        self.assertFalse(notif.get("TopicConfigurations") or notif.get("QueueConfigurations"))
        # A bucket that does not exist is NoSuchBucket, as for every bucket call.
        self.assertClientError(404, "NoSuchBucket", s3.get_bucket_policy, Bucket=b + "-none")
        self.assertClientError(404, "NoSuchBucket", s3.get_bucket_request_payment, Bucket=b + "-none")
        # Writes: refused, never a silent success.
        self.assertClientError(501, "NotImplemented", s3.put_bucket_policy, Bucket=b,
                               Policy='{"Version":"2012-10-17","Statement":[]}')
        self.assertClientError(501, "NotImplemented", s3.delete_bucket_policy, Bucket=b)
        self.assertClientError(501, "NotImplemented", s3.delete_bucket_encryption, Bucket=b)
        self.assertClientError(501, "NotImplemented", s3.put_bucket_request_payment, Bucket=b,
                               RequestPaymentConfiguration={"Payer": "Requester"})
        self.assertClientError(404, "NoSuchBucketPolicy", s3.get_bucket_policy, Bucket=b)
        self.assertEqual(s3.get_bucket_request_payment(Bucket=b)["Payer"], "BucketOwner")
        self.assertEqual([o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]], ["k"])
        # Anonymous: 403 before anything about the bucket is said.
        status, _, body = http("GET", "%s/%s?policy" % (ENDPOINT, b))
        self.assertEqual(status, 403, body)

    def test_request_id_on_anonymous_error(self):
        status, headers, body = http("GET", "%s/%s/x" % (ENDPOINT, self.bucket))
        self.assertEqual(status, 403, body)
        self.assertIn(b"<Code>AccessDenied</Code>", body)
        self.assertIn("x-amz-request-id", {k.lower() for k in headers})

    def test_streamed_upload_download(self):
        data = os.urandom(6 * 1024 * 1024 + 3)
        import io

        self.s3.upload_fileobj(io.BytesIO(data), self.bucket, "up/large.bin", Config=boto3.s3.transfer.TransferConfig(multipart_threshold=64 * 1024 * 1024))
        out = io.BytesIO()
        self.s3.download_fileobj(self.bucket, "up/large.bin", out)
        self.assertEqual(md5_hex(out.getvalue()), md5_hex(data))
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="up/large.bin")["ETag"], '"%s"' % md5_hex(data))


if __name__ == "__main__":
    print("boto3", boto3.__version__, "botocore", botocore.__version__, "python", sys.version.split()[0])
    unittest.main(verbosity=2)
