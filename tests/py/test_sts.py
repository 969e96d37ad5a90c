"""STS AssumeRoleWithWebIdentity against jetgate, driven by tests/sts.rs.

boto3's `sts` client (unsigned call, endpoint_url = the gateway) exchanges OIDC tokens
the Rust test signed for temporary credentials; boto3's `s3` client then uses them with
the session token. Exits non-zero on the first failed check; prints `SESSION <access
key> <secret> <token>` lines for the Rust side to inspect the stored records.
"""

import datetime
import os
import sys
import time
import urllib.error
import urllib.request

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["JETGATE_ENDPOINT"]
ROOT_ACCESS = os.environ["JETGATE_ACCESS_KEY"]
ROOT_SECRET = os.environ["JETGATE_SECRET_KEY"]
ALLOWED = os.environ["STS_ALLOWED_BUCKET"]
OTHER = os.environ["STS_OTHER_BUCKET"]
TOKENS = {k[len("STS_TOKEN_"):].lower(): v for k, v in os.environ.items() if k.startswith("STS_TOKEN_")}
ROLE = "arn:aws:iam::000000000000:role/team-a"


def sts():
    # AssumeRoleWithWebIdentity is unsigned in botocore's model; UNSIGNED makes sure no
    # credential of the machine is needed or sent.
    # Without client-side validation, so out-of-range values reach the gateway.
    return boto3.client("sts", endpoint_url=ENDPOINT, region_name="us-east-1",
                        config=Config(signature_version=UNSIGNED, parameter_validation=False))


def s3(access, secret, token=None):
    return boto3.client(
        "s3", endpoint_url=ENDPOINT, region_name="us-east-1",
        aws_access_key_id=access, aws_secret_access_key=secret, aws_session_token=token,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}),
    )


def assume(token, duration=None, session="s1"):
    kw = {"RoleArn": ROLE, "RoleSessionName": session, "WebIdentityToken": token}
    if duration:
        kw["DurationSeconds"] = duration
    return sts().assume_role_with_web_identity(**kw)


def error_of(fn):
    try:
        fn()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return "OK", 200


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def expect(fn, code, what, status=None):
    got = error_of(fn)
    check(got[0] == code and (status is None or got[1] == status), f"{what}: want {code} {status or ''}, got {got}")


def main():
    # A short-lived token first: its credentials expire with it, checked at the end.
    short = assume(TOKENS["short"])
    short_c = short["Credentials"]

    resp = assume(TOKENS["good"], duration=900)
    c = resp["Credentials"]
    check(c["AccessKeyId"].startswith("ASIA") and len(c["SessionToken"]) >= 64, "temporary credentials shape")
    check(resp["SubjectFromWebIdentityToken"] == "system:serviceaccount:team-a:builder", "subject")
    check(resp["Audience"] == "jetgate", "audience")
    left = (c["Expiration"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    check(850 < left <= 905, f"DurationSeconds=900 honoured ({left:.0f}s left)")
    print(f"SESSION {c['AccessKeyId']} {c['SecretAccessKey']} {c['SessionToken']}")

    tmp = s3(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    tmp.put_object(Bucket=ALLOWED, Key="from-sts.txt", Body=b"hello web identity")
    body = tmp.get_object(Bucket=ALLOWED, Key="from-sts.txt")["Body"].read()
    check(body == b"hello web identity", "put/get in the allowed bucket")
    keys = [o["Key"] for o in tmp.list_objects_v2(Bucket=ALLOWED).get("Contents", [])]
    check("from-sts.txt" in keys, "list in the allowed bucket")

    # Outside the rule's policy: another bucket, an operation it lacks (delete).
    expect(lambda: tmp.put_object(Bucket=OTHER, Key="nope.txt", Body=b"x"), "AccessDenied", "put outside the rule", 403)
    expect(lambda: tmp.get_object(Bucket=OTHER, Key="seed.txt"), "AccessDenied", "get outside the rule", 403)
    expect(lambda: tmp.delete_object(Bucket=ALLOWED, Key="from-sts.txt"), "AccessDenied", "delete not granted", 403)
    expect(lambda: tmp.create_bucket(Bucket="team-a-new"), "AccessDenied", "create bucket not granted", 403)
    check(tmp.head_object(Bucket=ALLOWED, Key="from-sts.txt")["ContentLength"] == 18, "refused delete left the object")

    # The session token: missing, altered, another session's; a long-term key with one.
    expect(lambda: s3(c["AccessKeyId"], c["SecretAccessKey"]).list_objects_v2(Bucket=ALLOWED),
           "InvalidAccessKeyId", "temporary key without its token", 403)
    altered = c["SessionToken"][:-1] + ("A" if c["SessionToken"][-1] != "A" else "B")
    expect(lambda: s3(c["AccessKeyId"], c["SecretAccessKey"], altered).list_objects_v2(Bucket=ALLOWED),
           "InvalidToken", "altered token", 400)
    other = assume(TOKENS["good"], session="s2")["Credentials"]
    expect(lambda: s3(c["AccessKeyId"], c["SecretAccessKey"], other["SessionToken"]).list_objects_v2(Bucket=ALLOWED),
           "InvalidToken", "another session's token", 400)
    expect(lambda: s3(ROOT_ACCESS, ROOT_SECRET, c["SessionToken"]).list_buckets(),
           "InvalidToken", "long-term key with a stray token", 400)
    check(s3(other["AccessKeyId"], other["SecretAccessKey"], other["SessionToken"])
          .head_object(Bucket=ALLOWED, Key="from-sts.txt")["ContentLength"] == 18, "second session works")

    # Presigned (SigV4 query): the token is in the signed query.
    url = tmp.generate_presigned_url("get_object", Params={"Bucket": ALLOWED, "Key": "from-sts.txt"}, ExpiresIn=300)
    check("X-Amz-Security-Token=" in url, "presigned URL carries the token")
    check(urllib.request.urlopen(url).read() == b"hello web identity", "presigned GET")
    for bad in (url.replace("X-Amz-Security-Token=", "X-Amz-Security-Token=x"),
                "&".join(p for p in url.split("&") if not p.startswith("X-Amz-Security-Token="))):
        try:
            urllib.request.urlopen(bad)
            check(False, "tampered presigned URL refused")
        except urllib.error.HTTPError as e:
            check(e.code in (400, 403), f"tampered presigned URL refused ({e.code})")

    # Bad tokens get STS errors.
    expect(lambda: assume(TOKENS["expired"]), "ExpiredTokenException", "expired token", 400)
    expect(lambda: assume(TOKENS["wrong_aud"]), "InvalidIdentityToken", "wrong audience", 400)
    expect(lambda: assume(TOKENS["wrong_iss"]), "InvalidIdentityToken", "wrong issuer", 400)
    expect(lambda: assume(TOKENS["other_key"]), "InvalidIdentityToken", "signed by another key", 400)
    expect(lambda: assume(TOKENS["alg_none"]), "InvalidIdentityToken", "alg none", 400)
    expect(lambda: assume(TOKENS["hs256"]), "InvalidIdentityToken", "HS256 with the public key", 400)
    expect(lambda: assume(TOKENS["unmapped"]), "AccessDenied", "no rule matches", 403)
    expect(lambda: assume(TOKENS["good"], duration=100), "ValidationError", "DurationSeconds below 900", 400)
    expect(lambda: assume("garbage"), "InvalidIdentityToken", "garbage token", 400)

    # The short-lived credentials: usable, then refused once the token's exp passes.
    short_s3 = s3(short_c["AccessKeyId"], short_c["SecretAccessKey"], short_c["SessionToken"])
    left = (short_c["Expiration"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    check(left < 60, f"expiry capped by the token's exp ({left:.0f}s left)")
    short_s3.head_object(Bucket=ALLOWED, Key="from-sts.txt")
    time.sleep(max(0.0, left) + 1.5)
    expect(lambda: short_s3.head_object(Bucket=ALLOWED, Key="from-sts.txt"), "400", "expired credentials (HEAD)", 400)
    expect(lambda: short_s3.list_objects_v2(Bucket=ALLOWED), "ExpiredToken", "expired credentials", 400)
    print("sts checks passed")


main()
