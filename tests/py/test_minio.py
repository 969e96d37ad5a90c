"""minio-py as an application uses it, against a running jetgate (started by
tests/minio_py.rs): bucket_exists / make_bucket, put_object of known and unknown length
(multipart past 5 MiB parts), fput/fget_object, stat_object with user metadata,
list_objects (recursive and by "directory", with start_after), copy_object,
get_object with a range, presigned GET and PUT fetched with plain urllib,
remove_objects in bulk, remove_bucket. Every upload is read back and compared with
boto3 as well, so a wrong answer that minio-py happens to accept is still caught.

Environment: JETGATE_ENDPOINT, JETGATE_ACCESS_KEY, JETGATE_SECRET_KEY, JETGATE_SCRATCH.
Run: python3 tests/py/test_minio.py -v
"""

import datetime
import hashlib
import io
import os
import random
import unittest
import urllib.parse
import urllib.request
import uuid

import boto3
from botocore.config import Config
from minio import Minio
from minio.commonconfig import CopySource
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

ENDPOINT = os.environ["JETGATE_ENDPOINT"].rstrip("/")
ACCESS_KEY = os.environ["JETGATE_ACCESS_KEY"]
SECRET_KEY = os.environ["JETGATE_SECRET_KEY"]
SCRATCH = os.environ["JETGATE_SCRATCH"]
MIB = 1024 * 1024


def minio():
    netloc = urllib.parse.urlsplit(ENDPOINT).netloc
    return Minio(netloc, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False,
                 region="us-east-1")


def boto():
    return boto3.client("s3", endpoint_url=ENDPOINT, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def data_of(size, seed):
    return random.Random(seed).randbytes(size)


class MinioSession(unittest.TestCase):
    def setUp(self):
        self.mc = minio()
        self.bucket = f"minio-{uuid.uuid4().hex[:12]}"
        self.assertFalse(self.mc.bucket_exists(self.bucket))
        self.mc.make_bucket(self.bucket)
        self.assertTrue(self.mc.bucket_exists(self.bucket))

    def tearDown(self):
        left = [DeleteObject(o.object_name)
                for o in self.mc.list_objects(self.bucket, recursive=True)]
        errors = list(self.mc.remove_objects(self.bucket, left))
        self.assertEqual(errors, [])
        self.mc.remove_bucket(self.bucket)
        self.assertFalse(self.mc.bucket_exists(self.bucket))

    def read_back(self, key, data):
        got = self.mc.get_object(self.bucket, key)
        try:
            self.assertEqual(hashlib.md5(got.read()).hexdigest(), hashlib.md5(data).hexdigest(),
                             f"{key} via minio-py")
        finally:
            got.close()
            got.release_conn()
        body = boto().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        self.assertEqual(hashlib.md5(body).hexdigest(), hashlib.md5(data).hexdigest(),
                         f"{key} via boto3")

    def test_objects_round_trip(self):
        small = data_of(70_000, 1)
        res = self.mc.put_object(self.bucket, "docs/small.bin", io.BytesIO(small), len(small),
                                 content_type="application/x-test",
                                 metadata={"x-amz-meta-color": "blue"})
        self.assertEqual(res.etag, hashlib.md5(small).hexdigest())
        # Unknown length: minio-py uploads 5 MiB parts (multipart).
        big = data_of(11 * MIB + 17, 2)
        res = self.mc.put_object(self.bucket, "docs/big.bin", io.BytesIO(big), -1,
                                 part_size=5 * MIB)
        self.assertTrue(res.etag.endswith("-3"), res.etag)
        for key, data in (("docs/small.bin", small), ("docs/big.bin", big)):
            self.read_back(key, data)
        st = self.mc.stat_object(self.bucket, "docs/small.bin")
        self.assertEqual(st.size, len(small))
        self.assertEqual(st.content_type, "application/x-test")
        self.assertEqual(st.metadata.get("x-amz-meta-color"), "blue")
        # A range.
        part = self.mc.get_object(self.bucket, "docs/big.bin", offset=5 * MIB - 3, length=10)
        try:
            self.assertEqual(part.read(), big[5 * MIB - 3:5 * MIB + 7])
        finally:
            part.close()
            part.release_conn()
        # Files both ways.
        path = os.path.join(SCRATCH, "file.bin")
        with open(path, "wb") as f:
            f.write(small)
        self.mc.fput_object(self.bucket, "files/odd name+&.bin", path)
        out = os.path.join(SCRATCH, "file.out")
        self.mc.fget_object(self.bucket, "files/odd name+&.bin", out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), small)
        # Server-side copy.
        self.mc.copy_object(self.bucket, "copies/small.bin",
                            CopySource(self.bucket, "docs/small.bin"))
        self.read_back("copies/small.bin", small)
        # A missing object is NoSuchKey.
        with self.assertRaises(S3Error) as e:
            self.mc.stat_object(self.bucket, "docs/missing")
        self.assertEqual(e.exception.code, "NoSuchKey")

    def test_listings(self):
        keys = [f"logs/2026/{d:02d}/part-{i}.log" for d in (1, 2) for i in range(3)] + ["top.txt"]
        for k in keys:
            self.mc.put_object(self.bucket, k, io.BytesIO(b"x"), 1)
        names = [o.object_name for o in self.mc.list_objects(self.bucket, recursive=True)]
        self.assertEqual(names, sorted(keys))
        # minio-py yields a page's objects before its common prefixes.
        top = sorted((o.object_name, o.is_dir) for o in self.mc.list_objects(self.bucket))
        self.assertEqual(top, [("logs/", True), ("top.txt", False)])
        days = [o.object_name for o in self.mc.list_objects(self.bucket, prefix="logs/2026/")]
        self.assertEqual(days, ["logs/2026/01/", "logs/2026/02/"])
        after = [o.object_name for o in self.mc.list_objects(
            self.bucket, recursive=True, start_after="logs/2026/02/part-0.log")]
        self.assertEqual(after, ["logs/2026/02/part-1.log", "logs/2026/02/part-2.log", "top.txt"])
        # Bulk delete of a "directory".
        gone = [DeleteObject(k) for k in keys if k.startswith("logs/2026/01/")]
        self.assertEqual(list(self.mc.remove_objects(self.bucket, gone)), [])
        names = [o.object_name for o in self.mc.list_objects(self.bucket, recursive=True)]
        self.assertEqual(names, sorted(k for k in keys if not k.startswith("logs/2026/01/")))

    def test_presigned_urls(self):
        data = data_of(4096, 3)
        put_url = self.mc.presigned_put_object(self.bucket, "shared/up.bin",
                                               expires=datetime.timedelta(minutes=5))
        req = urllib.request.Request(put_url, data=data, method="PUT")
        with urllib.request.urlopen(req) as r:
            self.assertEqual(r.status, 200)
        self.read_back("shared/up.bin", data)
        get_url = self.mc.presigned_get_object(self.bucket, "shared/up.bin",
                                               expires=datetime.timedelta(minutes=5))
        with urllib.request.urlopen(get_url) as r:
            self.assertEqual(r.read(), data)
        # The signature covers the key: the same query on another key is refused.
        other = get_url.replace("shared/up.bin", "shared/other.bin")
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(other)
        self.assertEqual(e.exception.code, 403)


if __name__ == "__main__":
    unittest.main()
