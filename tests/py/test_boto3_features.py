"""boto3 and aws CLI: object tagging, checksums on GET/HEAD (CRC32, CRC32C, SHA1,
SHA256 and a CRC32 composite multipart), GetObjectAttributes and the versioning probes,
against a running jetgate (started by tests/boto3_features.rs).

Environment: JETGATE_ENDPOINT, JETGATE_ACCESS_KEY, JETGATE_SECRET_KEY.
Run: python3 tests/py/test_boto3_features.py -v
"""

import base64
import hashlib
import json
import os
import struct
import subprocess
import unittest
import uuid
import zlib

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from tools import require_tool

ENDPOINT = os.environ["JETGATE_ENDPOINT"].rstrip("/")
ACCESS_KEY = os.environ["JETGATE_ACCESS_KEY"]
SECRET_KEY = os.environ["JETGATE_SECRET_KEY"]
REGION = "us-east-1"


def client():
    # Default checksum settings: botocore >= 1.36 sends CRC32 and validates responses.
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1, "mode": "standard"},
            signature_version="s3v4",
        ),
    )


def b64(raw):
    return base64.b64encode(raw).decode()


def crc32_b64(data):
    return b64(struct.pack(">I", zlib.crc32(data) & 0xFFFFFFFF))


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c_b64(data):
    """CRC-32C (Castagnoli, reflected 0x82F63B78), computed here: no library needed."""
    c = 0xFFFFFFFF
    for byte in data:
        c = _CRC32C[(c ^ byte) & 0xFF] ^ (c >> 8)
    return b64(struct.pack(">I", c ^ 0xFFFFFFFF))


def code_of(err):
    return err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"]


class Features(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s3 = client()
        cls.bucket = "feat-" + uuid.uuid4().hex[:16]
        cls.s3.create_bucket(Bucket=cls.bucket)

    def key(self, name):
        return f"{self._testMethodName}/{name}"

    def tags(self, key):
        out = self.s3.get_object_tagging(Bucket=self.bucket, Key=key)
        return [(t["Key"], t["Value"]) for t in out["TagSet"]]

    def assert_error(self, code, status, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        self.assertEqual(code_of(cm.exception), (code, status))

    def test_tagging_round_trip(self):
        k = self.key("t")
        self.s3.put_object(Bucket=self.bucket, Key=k, Body=b"hello", Tagging="a=1&b=x%20y")
        self.assertEqual(self.tags(k), [("a", "1"), ("b", "x y")])
        got = self.s3.get_object(Bucket=self.bucket, Key=k)
        self.assertEqual(got["TagCount"], 2)
        self.assertNotIn("x-amz-meta-a", got["ResponseMetadata"]["HTTPHeaders"])
        etag, modified = got["ETag"], got["LastModified"]
        self.assertEqual(got["Body"].read(), b"hello")
        tag_set = [{"Key": "k&=", "Value": "ü v"}, {"Key": "empty", "Value": ""}]
        self.s3.put_object_tagging(Bucket=self.bucket, Key=k, Tagging={"TagSet": tag_set})
        self.assertEqual(self.tags(k), [("k&=", "ü v"), ("empty", "")])
        head = self.s3.head_object(Bucket=self.bucket, Key=k)
        self.assertEqual((head["ETag"], head["LastModified"]), (etag, modified))
        self.s3.delete_object_tagging(Bucket=self.bucket, Key=k)
        self.assertEqual(self.tags(k), [])
        self.assertNotIn("TagCount", self.s3.get_object(Bucket=self.bucket, Key=k))

    def test_tagging_limits(self):
        k = self.key("limits")
        self.s3.put_object(Bucket=self.bucket, Key=k, Body=b"x")
        bad = [
            [{"Key": f"k{i}", "Value": "v"} for i in range(11)],
            [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}],
            [{"Key": "k" * 129, "Value": "v"}],
            [{"Key": "k", "Value": "v" * 257}],
        ]
        for tag_set in bad:
            self.assert_error(
                "InvalidTag", 400, self.s3.put_object_tagging,
                Bucket=self.bucket, Key=k, Tagging={"TagSet": tag_set},
            )
        self.assertEqual(self.tags(k), [])
        many = "&".join(f"k{i}=v" for i in range(11))
        self.assert_error(
            "InvalidTag", 400, self.s3.put_object,
            Bucket=self.bucket, Key=self.key("nope"), Body=b"x", Tagging=many,
        )
        # HEAD errors have no body: botocore reports the status as the code.
        self.assert_error("404", 404, self.s3.head_object, Bucket=self.bucket, Key=self.key("nope"))

    def test_tagging_malformed_xml(self):
        k = self.key("bad-xml")
        self.s3.put_object(Bucket=self.bucket, Key=k, Body=b"x")
        s3 = client()

        def corrupt(request, **_):
            # Replace the body before signing; drop the digests computed for the old one.
            request.data = b"<Tagging><TagSet><Tag><Key>a</Key>"
            for h in list(request.headers.keys()):
                if h.lower() in ("content-md5", "content-length") or h.lower().startswith(
                    "x-amz-checksum-"
                ) or h.lower() == "x-amz-sdk-checksum-algorithm":
                    del request.headers[h]

        s3.meta.events.register("before-sign.s3.PutObjectTagging", corrupt)
        self.assert_error(
            "MalformedXML", 400, s3.put_object_tagging,
            Bucket=self.bucket, Key=k, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]},
        )

    def test_tagging_copy_and_multipart(self):
        src = self.key("src")
        self.s3.put_object(Bucket=self.bucket, Key=src, Body=b"s", Tagging="from=src")
        copy = dict(Bucket=self.bucket, CopySource={"Bucket": self.bucket, "Key": src})
        self.s3.copy_object(Key=self.key("copy"), **copy)
        self.assertEqual(self.tags(self.key("copy")), [("from", "src")])
        self.s3.copy_object(
            Key=self.key("replace"), TaggingDirective="REPLACE", Tagging="n=2", **copy
        )
        self.assertEqual(self.tags(self.key("replace")), [("n", "2")])
        mp = self.key("mp")
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=mp, Tagging="m=1&o=2")
        part = self.s3.upload_part(
            Bucket=self.bucket, Key=mp, UploadId=up["UploadId"], PartNumber=1, Body=b"p"
        )
        self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=mp, UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )
        self.assertEqual(self.tags(mp), [("m", "1"), ("o", "2")])
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key=mp)["TagCount"], 2)

    def test_checksum_mode_on_get_and_head(self):
        data = os.urandom(150_000)
        local = {
            "CRC32": crc32_b64(data),
            "SHA1": b64(hashlib.sha1(data).digest()),
            "SHA256": b64(hashlib.sha256(data).digest()),
        }
        # The check value of the CRC-32C catalogue entry, so the local CRC-32C is right.
        self.assertEqual(crc32c_b64(b"123456789"), b64(struct.pack(">I", 0xE3069283)))
        try:
            import awscrt  # noqa: F401  botocore computes CRC32C only with it

            local["CRC32C"] = crc32c_b64(data)
        except ImportError:
            pass  # CRC32C is covered by the Rust SDK test (tests/sdk/checksums.rs)
        for algo, want in local.items():
            k = self.key(algo)
            put = self.s3.put_object(Bucket=self.bucket, Key=k, Body=data, ChecksumAlgorithm=algo)
            field = "Checksum" + algo
            self.assertEqual(put[field], want, algo)
            got = self.s3.get_object(Bucket=self.bucket, Key=k, ChecksumMode="ENABLED")
            self.assertEqual(got[field], want, algo)
            self.assertEqual(got.get("ChecksumType"), "FULL_OBJECT", algo)
            # botocore validates the streamed body against the header while reading.
            self.assertEqual(got["Body"].read(), data)
            head = self.s3.head_object(Bucket=self.bucket, Key=k, ChecksumMode="ENABLED")
            self.assertEqual(head[field], want, algo)
            plain = self.s3.head_object(Bucket=self.bucket, Key=k)
            self.assertNotIn(field, plain)

    def test_composite_multipart_and_attributes(self):
        k = self.key("composite")
        parts = [os.urandom(5 * 1024 * 1024), os.urandom(777)]
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=k, ChecksumAlgorithm="CRC32")
        self.assertEqual(up.get("ChecksumAlgorithm"), "CRC32")
        listed, raw = [], b""
        for n, data in enumerate(parts, start=1):
            out = self.s3.upload_part(
                Bucket=self.bucket, Key=k, UploadId=up["UploadId"], PartNumber=n,
                Body=data, ChecksumAlgorithm="CRC32",
            )
            self.assertEqual(out["ChecksumCRC32"], crc32_b64(data))
            raw += base64.b64decode(out["ChecksumCRC32"])
            listed.append({"PartNumber": n, "ETag": out["ETag"], "ChecksumCRC32": out["ChecksumCRC32"]})
        done = self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=k, UploadId=up["UploadId"], MultipartUpload={"Parts": listed}
        )
        composite = crc32_b64(raw) + "-2"
        self.assertEqual(done.get("ChecksumCRC32"), composite)
        self.assertEqual(done.get("ChecksumType"), "COMPOSITE")
        head = self.s3.head_object(Bucket=self.bucket, Key=k, ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumCRC32"], composite)
        self.assertEqual(head.get("ChecksumType"), "COMPOSITE")
        got = self.s3.get_object(Bucket=self.bucket, Key=k, ChecksumMode="ENABLED")
        self.assertEqual(len(got["Body"].read()), sum(map(len, parts)))
        attrs = self.s3.get_object_attributes(
            Bucket=self.bucket, Key=k,
            ObjectAttributes=["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"],
        )
        part_md5s = b"".join(hashlib.md5(p).digest() for p in parts)
        self.assertEqual(attrs["ETag"], hashlib.md5(part_md5s).hexdigest() + "-2")
        self.assertEqual(attrs["ObjectSize"], sum(map(len, parts)))
        self.assertEqual(attrs["StorageClass"], "STANDARD")
        self.assertEqual(attrs["Checksum"]["ChecksumCRC32"], crc32_b64(raw))
        self.assertEqual(attrs["Checksum"]["ChecksumType"], "COMPOSITE")
        op = attrs["ObjectParts"]
        self.assertEqual(op["TotalPartsCount"], 2)
        self.assertEqual(
            [(p["PartNumber"], p["Size"], p["ChecksumCRC32"]) for p in op["Parts"]],
            [(1, len(parts[0]), crc32_b64(parts[0])), (2, 777, crc32_b64(parts[1]))],
        )
        single = self.key("single")
        self.s3.put_object(Bucket=self.bucket, Key=single, Body=b"abc")
        attrs = self.s3.get_object_attributes(
            Bucket=self.bucket, Key=single, ObjectAttributes=["ETag", "ObjectSize"]
        )
        self.assertEqual(attrs["ETag"], hashlib.md5(b"abc").hexdigest())
        self.assertEqual(attrs["ObjectSize"], 3)
        self.assertNotIn("ObjectParts", attrs)

    def test_copy_keeps_the_checksum_algorithm(self):
        src, dst = self.key("copy-src"), self.key("copy-dst")
        data = os.urandom(300_000)
        self.s3.put_object(Bucket=self.bucket, Key=src, Body=data, ChecksumAlgorithm="SHA256")
        out = self.s3.copy_object(Bucket=self.bucket, Key=dst, CopySource={"Bucket": self.bucket, "Key": src})
        want = base64.b64encode(hashlib.sha256(data).digest()).decode()
        self.assertEqual(out["CopyObjectResult"].get("ChecksumSHA256"), want)
        head = self.s3.head_object(Bucket=self.bucket, Key=dst, ChecksumMode="ENABLED")
        self.assertEqual(head.get("ChecksumSHA256"), want)
        # Naming another algorithm on the copy computes that one instead.
        out = self.s3.copy_object(Bucket=self.bucket, Key=dst, CopySource={"Bucket": self.bucket, "Key": src},
                                  ChecksumAlgorithm="CRC32")
        self.assertEqual(out["CopyObjectResult"].get("ChecksumCRC32"), crc32_b64(data))
        head = self.s3.head_object(Bucket=self.bucket, Key=dst, ChecksumMode="ENABLED")
        self.assertEqual(head.get("ChecksumCRC32"), crc32_b64(data))
        self.assertNotIn("ChecksumSHA256", head)
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key=dst)["Body"].read(), data)

    def test_part_checksum_must_match_the_upload(self):
        # S3 refuses a part without the upload's checksum algorithm, or with another one.
        k = self.key("mismatch")
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=k, ChecksumAlgorithm="SHA256")
        plain = boto3.client(
            "s3", endpoint_url=ENDPOINT, aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY, region_name=REGION,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                          request_checksum_calculation="when_required"),
        )
        for c, extra in ((self.s3, {"ChecksumAlgorithm": "CRC32"}), (plain, {})):
            with self.assertRaises(ClientError) as e:
                c.upload_part(Bucket=self.bucket, Key=k, UploadId=up["UploadId"], PartNumber=1,
                              Body=b"x" * 1024, **extra)
            self.assertEqual(e.exception.response["Error"]["Code"], "InvalidRequest")
            self.assertIn("Checksum Type mismatch", e.exception.response["Error"]["Message"])
        ok = self.s3.upload_part(Bucket=self.bucket, Key=k, UploadId=up["UploadId"], PartNumber=1,
                                 Body=b"x" * 1024, ChecksumAlgorithm="SHA256")
        self.assertEqual(ok["ChecksumSHA256"], base64.b64encode(hashlib.sha256(b"x" * 1024).digest()).decode())
        parts = self.s3.list_parts(Bucket=self.bucket, Key=k, UploadId=up["UploadId"])["Parts"]
        self.assertEqual([p["PartNumber"] for p in parts], [1])
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key=k, UploadId=up["UploadId"])

    def test_versioning_probes(self):
        bucket = "feat-v-" + uuid.uuid4().hex[:12]
        self.s3.create_bucket(Bucket=bucket)
        v = self.s3.get_bucket_versioning(Bucket=bucket)
        self.assertNotIn("Status", v)
        self.assert_error(
            "ObjectLockConfigurationNotFoundError", 404,
            self.s3.get_object_lock_configuration, Bucket=bucket,
        )
        keys = ["a b", "dir/1", "dir/2", "é", "z"]
        for k in keys:
            self.s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
        pages = self.s3.get_paginator("list_object_versions").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 2}
        )
        seen, count = [], 0
        for page in pages:
            count += 1
            for v in page.get("Versions", []):
                self.assertEqual((v["VersionId"], v["IsLatest"]), ("null", True))
                seen.append(v["Key"])
        self.assertEqual(seen, sorted(keys, key=lambda s: s.encode()))
        self.assertEqual(count, 3)
        out = self.s3.list_object_versions(Bucket=bucket, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in out["CommonPrefixes"]], ["dir/"])
        self.assertEqual([v["Key"] for v in out["Versions"]], ["a b", "z", "é"])
        out = self.s3.list_object_versions(Bucket=bucket, KeyMarker="dir/1", VersionIdMarker="null", MaxKeys=1)
        self.assertEqual([v["Key"] for v in out["Versions"]], ["dir/2"])
        self.assertEqual((out["NextKeyMarker"], out["NextVersionIdMarker"]), ("dir/2", "null"))
        # versionId=null reads like a plain request.
        got = self.s3.get_object(Bucket=bucket, Key="z", VersionId="null")
        self.assertEqual(got["Body"].read(), b"z")

    def test_aws_cli(self):
        require_tool("py/test_boto3_features.py::test_aws_cli", "aws")
        k = self.key("cli")
        self.s3.put_object(Bucket=self.bucket, Key=k, Body=b"cli data")
        env = dict(
            os.environ,
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            AWS_DEFAULT_REGION=REGION,
        )
        base = ["aws", "--endpoint-url", ENDPOINT, "s3api"]
        subprocess.run(
            base + ["put-object-tagging", "--bucket", self.bucket, "--key", k,
                    "--tagging", "TagSet=[{Key=cli,Value=yes}]"],
            env=env, check=True, capture_output=True,
        )
        out = subprocess.run(
            base + ["get-object-tagging", "--bucket", self.bucket, "--key", k],
            env=env, check=True, capture_output=True,
        )
        self.assertEqual(json.loads(out.stdout)["TagSet"], [{"Key": "cli", "Value": "yes"}])
        out = subprocess.run(
            base + ["get-object-attributes", "--bucket", self.bucket, "--key", k,
                    "--object-attributes", "ETag", "ObjectSize"],
            env=env, check=True, capture_output=True,
        )
        attrs = json.loads(out.stdout)
        self.assertEqual(attrs["ETag"], hashlib.md5(b"cli data").hexdigest())
        self.assertEqual(attrs["ObjectSize"], 8)


if __name__ == "__main__":
    unittest.main(verbosity=2)
