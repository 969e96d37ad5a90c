"""boto3's managed transfers (upload_file / download_file, multipart) against a running
jetgate (started by tests/boto3_transfer.rs).

Environment: JETGATE_ENDPOINT (http://127.0.0.1:PORT), JETGATE_ACCESS_KEY,
JETGATE_SECRET_KEY, JETGATE_SCRATCH (a directory for the test files).
Run: python3 tests/py/test_boto3_transfer.py -v
"""

import hashlib
import io
import os
import random
import tempfile
import threading
import unittest
import uuid

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["JETGATE_ENDPOINT"].rstrip("/")
ACCESS_KEY = os.environ["JETGATE_ACCESS_KEY"]
SECRET_KEY = os.environ["JETGATE_SECRET_KEY"]
SCRATCH = os.environ.get("JETGATE_SCRATCH") or tempfile.gettempdir()
MIB = 1024 * 1024
# Multipart above 8 MiB in 5 MiB parts: a 30 MiB file is 6 parts.
TRANSFER = TransferConfig(
    multipart_threshold=8 * MIB,
    multipart_chunksize=5 * MIB,
    max_concurrency=4,
    use_threads=True,
)


def client():
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1, "mode": "standard"},
            signature_version="s3v4",
        ),
    )


def random_file(path, size, seed):
    """Writes `size` deterministic pseudo-random bytes; returns their SHA-256 hex."""
    rng = random.Random(seed)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MIB)
            piece = rng.randbytes(n)
            h.update(piece)
            f.write(piece)
            left -= n
    return h.hexdigest()


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(4 * MIB), b""):
            h.update(piece)
    return h.hexdigest()


def multipart_etag(path, part_size):
    """S3's ETag of a multipart object: md5(concatenated part md5s)-N."""
    digests = []
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(part_size), b""):
            digests.append(hashlib.md5(piece).digest())
    return '"%s-%d"' % (hashlib.md5(b"".join(digests)).hexdigest(), len(digests))


class Progress:
    """Thread-safe byte counter for the transfer callbacks."""

    def __init__(self):
        self.lock = threading.Lock()
        self.total = 0

    def __call__(self, n):
        with self.lock:
            self.total += n


class Boto3Transfer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s3 = client()
        cls.bucket = "xfer-" + uuid.uuid4().hex[:16]
        cls.s3.create_bucket(Bucket=cls.bucket)
        cls.dir = tempfile.TemporaryDirectory(prefix="boto3-transfer-", dir=SCRATCH)

    @classmethod
    def tearDownClass(cls):
        s3 = cls.s3
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=cls.bucket):
            for o in page.get("Contents", []):
                s3.delete_object(Bucket=cls.bucket, Key=o["Key"])
        s3.delete_bucket(Bucket=cls.bucket)
        cls.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def test_upload_file_download_file_multipart(self):
        size = 30 * MIB + 12345
        src = self.path("thirty.bin")
        want = random_file(src, size, 30)
        key = "transfer/thirty mib+.bin"
        up = Progress()
        self.s3.upload_file(
            src,
            self.bucket,
            key,
            ExtraArgs={"ContentType": "application/x-test", "Metadata": {"origin": "boto3"}},
            Config=TRANSFER,
            Callback=up,
        )
        self.assertEqual(up.total, size)
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        self.assertEqual(head["ContentLength"], size)
        self.assertEqual(head["ETag"], multipart_etag(src, 5 * MIB))
        self.assertTrue(head["ETag"].endswith('-7"'), head["ETag"])
        self.assertEqual(head["ContentType"], "application/x-test")
        self.assertEqual(head["Metadata"], {"origin": "boto3"})
        # The upload is finished: nothing in progress.
        ups = self.s3.list_multipart_uploads(Bucket=self.bucket)
        self.assertEqual(ups.get("Uploads", []), [])

        # A part of the result, by number.
        part = self.s3.get_object(Bucket=self.bucket, Key=key, PartNumber=2)
        self.assertEqual(part["PartsCount"], 7)
        self.assertEqual(part["ContentLength"], 5 * MIB)
        with open(src, "rb") as f:
            f.seek(5 * MIB)
            self.assertEqual(part["Body"].read(), f.read(5 * MIB))

        down = Progress()
        dst = self.path("thirty.back")
        self.s3.download_file(self.bucket, key, dst, Config=TRANSFER, Callback=down)
        self.assertEqual(down.total, size)
        self.assertEqual(os.path.getsize(dst), size)
        self.assertEqual(file_sha256(dst), want)

    def test_below_threshold_is_one_part(self):
        src = self.path("small.bin")
        random_file(src, 3 * MIB, 3)
        key = "transfer/small.bin"
        self.s3.upload_file(src, self.bucket, key, Config=TRANSFER)
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        with open(src, "rb") as f:
            self.assertEqual(head["ETag"], '"%s"' % hashlib.md5(f.read()).hexdigest())

    def test_upload_fileobj_download_fileobj(self):
        rng = random.Random(9)
        data = rng.randbytes(11 * MIB + 1)
        key = "transfer/fileobj.bin"
        self.s3.upload_fileobj(io.BytesIO(data), self.bucket, key, Config=TRANSFER)
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        pieces = [data[i : i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
        part_md5s = b"".join(hashlib.md5(p).digest() for p in pieces)
        self.assertEqual(head["ETag"], '"%s-3"' % hashlib.md5(part_md5s).hexdigest())
        out = io.BytesIO()
        self.s3.download_fileobj(self.bucket, key, out, Config=TRANSFER)
        self.assertEqual(hashlib.sha256(out.getvalue()).hexdigest(), hashlib.sha256(data).hexdigest())

    def test_download_missing_key(self):
        with self.assertRaises(ClientError) as cm:
            self.s3.download_file(self.bucket, "transfer/missing", self.path("missing"), Config=TRANSFER)
        self.assertEqual(cm.exception.response["Error"]["Code"], "404")


if __name__ == "__main__":
    unittest.main(verbosity=2)
