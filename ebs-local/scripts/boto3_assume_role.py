#!/usr/bin/python3
"""boto3's STS client against a running ebs-local that serves a role.

Assume the role with its external id, write a snapshot with the session credentials and check it
belongs to the role's account, and check that a wrong external id is refused with AccessDenied.

Usage: boto3_assume_role.py --endpoint http://127.0.0.1:PORT --role-arn ARN --external-id ID
Prints "boto3 assume role: OK" and exits 0; exits 1 on the first mismatch.
"""

import argparse
import datetime
import sys

import boto3
import botocore.exceptions
from botocore.config import Config

DEFAULT_ACCESS_KEY = "AKIAEBSLOCAL00000000"
DEFAULT_SECRET_KEY = "ebs-local/secret/key/for/local/use/only0"


class Mismatch(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Mismatch(what)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--role-arn", required=True)
    ap.add_argument("--external-id", required=True)
    args = ap.parse_args()
    cfg = Config(retries={"max_attempts": 1})
    sts = boto3.session.Session(
        aws_access_key_id=DEFAULT_ACCESS_KEY,
        aws_secret_access_key=DEFAULT_SECRET_KEY,
        region_name=args.region,
    ).client("sts", endpoint_url=args.endpoint, config=cfg)

    r = sts.assume_role(
        RoleArn=args.role_arn,
        RoleSessionName="boto3-check",
        ExternalId=args.external_id,
        DurationSeconds=900,
    )
    c = r["Credentials"]
    check(c["AccessKeyId"].startswith("ASIA"), "access key id %r" % c["AccessKeyId"])
    left = c["Expiration"] - datetime.datetime.now(datetime.timezone.utc)
    check(
        datetime.timedelta(seconds=890) < left <= datetime.timedelta(seconds=900),
        "Expiration %s" % c["Expiration"],
    )
    account = args.role_arn.split(":")[4]
    role_name = args.role_arn.rsplit("/", 1)[1]
    check(
        r["AssumedRoleUser"]["Arn"]
        == "arn:aws:sts::%s:assumed-role/%s/boto3-check" % (account, role_name),
        "AssumedRoleUser %r" % r["AssumedRoleUser"],
    )

    ebs = boto3.session.Session(
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
        region_name=args.region,
    ).client("ebs", endpoint_url=args.endpoint, config=cfg)
    started = ebs.start_snapshot(VolumeSize=1, Timeout=60)
    check(started["OwnerId"] == account, "OwnerId %r" % started["OwnerId"])

    try:
        sts.assume_role(
            RoleArn=args.role_arn, RoleSessionName="boto3-check", ExternalId="not-the-id"
        )
        raise Mismatch("a wrong external id was accepted")
    except botocore.exceptions.ClientError as e:
        err = e.response["Error"]
        check(err["Code"] == "AccessDenied", "error %r" % err)
        check(e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, "status")
        check(err.get("Type") == "Sender", "error type %r" % err)

    print("boto3 assume role: OK")


if __name__ == "__main__":
    try:
        main()
    except Mismatch as m:
        print("boto3 assume role: MISMATCH: %s" % m)
        sys.exit(1)
