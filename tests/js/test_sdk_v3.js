// The AWS SDK for JavaScript v3 against jetgate, driven by tests/js_sdk.rs: client-s3
// with its defaults (CRC32 request checksums, as headers or aws-chunked trailers, and
// response checksum validation), lib-storage's concurrent multipart Upload, and
// s3-request-presigner URLs used with fetch as a browser would. Every upload is read
// back and compared; exits non-zero on the first failed check.
"use strict";

const crypto = require("node:crypto");
const { Readable } = require("node:stream");
const {
  S3Client, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
  ListObjectsV2Command, DeleteObjectsCommand, CopyObjectCommand,
} = require("@aws-sdk/client-s3");
const { Upload } = require("@aws-sdk/lib-storage");
const { getSignedUrl } = require("@aws-sdk/s3-request-presigner");

const ENDPOINT = process.env.JETGATE_ENDPOINT;
const BUCKET = process.env.JETGATE_BUCKET;
let checks = 0;

function check(cond, what) {
  checks += 1;
  if (!cond) {
    console.log(`FAIL: ${what}`);
    process.exit(1);
  }
}

const md5 = (b) => crypto.createHash("md5").update(b).digest("hex");
const crc32b64 = (b) => {
  // zlib's CRC-32, big-endian, base64: computed here, not by the SDK.
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE((~c) >>> 0);
  return out.toString("base64");
};
const bytes = (n, seed) => {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
};

async function body(out) {
  return Buffer.from(await out.Body.transformToByteArray());
}

async function main() {
  const s3 = new S3Client({
    endpoint: ENDPOINT,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: {
      accessKeyId: process.env.JETGATE_ACCESS_KEY,
      secretAccessKey: process.env.JETGATE_SECRET_KEY,
    },
    maxAttempts: 1,
  });
  const sent = [];
  s3.middlewareStack.add(
    (next) => async (args) => {
      sent.push({ method: args.request.method, headers: { ...args.request.headers } });
      return next(args);
    },
    { step: "finalizeRequest", priority: "low", name: "captureHeaders" },
  );
  const last = (method) => sent.filter((r) => r.method === method).pop().headers;

  // A buffer: the SDK's default CRC32 as a header.
  const small = bytes(3000, 1);
  let out = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "js/small.bin", Body: small }));
  check(out.ETag === `"${md5(small)}"`, `small ETag ${out.ETag}`);
  check(out.ChecksumCRC32 === crc32b64(small), `small CRC32 ${out.ChecksumCRC32}`);
  const h = last("PUT");
  check(h["x-amz-checksum-crc32"] === crc32b64(small) || (h["x-amz-trailer"] || "") === "x-amz-checksum-crc32",
    `small PUT sent a CRC32: ${JSON.stringify(h)}`);

  // A stream of known length: aws-chunked with a CRC32 trailer.
  const streamed = bytes(700 * 1024, 2);
  out = await s3.send(new PutObjectCommand({
    Bucket: BUCKET, Key: "js/streamed.bin", Body: Readable.from([streamed]),
    ContentLength: streamed.length,
  }));
  const hs = last("PUT");
  check((hs["x-amz-trailer"] || "") === "x-amz-checksum-crc32", `stream trailer: ${JSON.stringify(hs)}`);
  check(out.ETag === `"${md5(streamed)}"`, `streamed ETag ${out.ETag}`);

  // GET validates the stored CRC32 itself (responseChecksumValidation: WHEN_SUPPORTED).
  for (const [key, data] of [["js/small.bin", small], ["js/streamed.bin", streamed]]) {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: "ENABLED" }));
    check(got.ChecksumCRC32 === crc32b64(data), `${key} GET CRC32 ${got.ChecksumCRC32}`);
    check(md5(await body(got)) === md5(data), `${key} bytes`);
  }

  // lib-storage: 13 MiB in 5 MiB parts, 3 at a time.
  const big = bytes(13 * 1024 * 1024 + 5, 3);
  const up = new Upload({
    client: s3, params: { Bucket: BUCKET, Key: "js/big.bin", Body: big },
    partSize: 5 * 1024 * 1024, queueSize: 3,
  });
  const done = await up.done();
  check(/-3"$/.test(done.ETag), `multipart ETag ${done.ETag}`);
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "js/big.bin" }));
  check(head.ContentLength === big.length, `big length ${head.ContentLength}`);
  const gotBig = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "js/big.bin" }));
  check(md5(await body(gotBig)) === md5(big), "big bytes");

  // CopyObject, listing, DeleteObjects.
  await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "js/copy.bin", CopySource: `${BUCKET}/js/small.bin` }));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "js/" }));
  const keys = (listed.Contents || []).map((o) => o.Key);
  check(JSON.stringify(keys) === JSON.stringify(["js/big.bin", "js/copy.bin", "js/small.bin", "js/streamed.bin"]),
    `listed ${keys}`);

  // Presigned URLs, used with fetch.
  const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: "js/small.bin" }), { expiresIn: 300 });
  let res = await fetch(getUrl);
  check(res.status === 200, `presigned GET ${res.status}`);
  check(md5(Buffer.from(await res.arrayBuffer())) === md5(small), "presigned GET bytes");
  const putData = bytes(1234, 4);
  const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: "js/presigned.bin" }), { expiresIn: 300 });
  res = await fetch(putUrl, { method: "PUT", body: putData });
  check(res.status === 200, `presigned PUT ${res.status} ${await res.text()}`);
  const gotPut = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "js/presigned.bin" }));
  check(md5(await body(gotPut)) === md5(putData), "presigned PUT bytes");
  const tampered = getUrl.replace("js%2Fsmall.bin", "js%2Fcopy.bin").replace("js/small.bin", "js/copy.bin");
  res = await fetch(tampered);
  check(res.status === 403, `tampered presigned URL answered ${res.status}`);

  const del = await s3.send(new DeleteObjectsCommand({
    Bucket: BUCKET,
    Delete: { Objects: [{ Key: "js/copy.bin" }, { Key: "js/presigned.bin" }] },
  }));
  check((del.Deleted || []).length === 2 && !(del.Errors || []).length, `DeleteObjects ${JSON.stringify(del)}`);
  const after = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "js/" }));
  check((after.Contents || []).length === 3, `after delete ${(after.Contents || []).map((o) => o.Key)}`);

  console.log(`ok: ${checks} checks passed`);
}

main().catch((e) => {
  console.log(`FAIL: ${e.name}: ${e.message}`);
  console.log(e.stack);
  process.exit(1);
});
