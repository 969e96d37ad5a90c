# Ad-hoc: ListObjectsV2 1000-key page p50/p99 through S3 on buckets of N objects whose
# metadata is written natively (NATS object-store format). Run by loadtest/list/run.sh.
import asyncio, base64, json, os, sys, time, statistics, boto3, nats
from botocore.config import Config
ep, ak, sk, nurl = sys.argv[1:5]
sizes = [int(x) for x in sys.argv[5].split(",")]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk, region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
async def fill(bucket, n):
    nc = await nats.connect(nurl)
    js = nc.jetstream()
    futs = []
    for i in range(n):
        key = f"data/{i:08d}.bin"
        nuid = f"N{i:020d}"
        meta = {"name": key, "bucket": bucket, "nuid": nuid, "size": 1, "chunks": 1,
                "mtime": "2026-12-02T00:00:00Z", "digest": "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="}
        await nc.publish(f"$O.{bucket}.C.{nuid}", b"x")
        subj = f"$O.{bucket}.M." + base64.urlsafe_b64encode(key.encode()).decode()
        await nc.publish(subj, json.dumps(meta).encode(), headers={"Nats-Rollup": "sub"})
        if i % 5000 == 4999:
            await nc.flush()
    await nc.flush()
    # Core publishes are not acknowledged: wait until the stream holds them all.
    while (await js.stream_info(f"OBJ_{bucket}")).state.messages < 2 * n:
        await asyncio.sleep(0.05)
    await nc.close()
for n in sizes:
    b = f"lm{n}"
    s3.create_bucket(Bucket=b)
    t = time.time(); asyncio.run(fill(b, n)); fill_s = time.time() - t
    # first listing (cold index build, or full scan)
    t = time.time(); r = s3.list_objects_v2(Bucket=b, MaxKeys=1000); first = time.time() - t
    assert r["KeyCount"] == min(1000, n), r["KeyCount"]
    lat = []
    for _ in range(40):
        t = time.perf_counter(); s3.list_objects_v2(Bucket=b, MaxKeys=1000, StartAfter="data/00000500.bin"); lat.append(time.perf_counter() - t)
    dl = []
    for _ in range(40):
        t = time.perf_counter(); r = s3.list_objects_v2(Bucket=b, Delimiter="/", MaxKeys=1000); dl.append(time.perf_counter() - t)
    assert [p["Prefix"] for p in r.get("CommonPrefixes", [])] == ["data/"]
    lat.sort(); dl.sort()
    print(f"{n:>7} objects: fill {fill_s:.1f}s, first page {first*1000:.0f} ms, 1000-key page p50 {statistics.median(lat)*1000:.1f} ms p99 {lat[int(len(lat)*0.99)-1]*1000:.1f} ms, delimiter page p50 {statistics.median(dl)*1000:.1f} ms")
