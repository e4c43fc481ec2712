#!/usr/bin/python3
"""boto3 round trip against a running ebs-local.

Start, write two blocks with checksums, complete with the LINEAR aggregate, wait for EC2
DescribeSnapshots to say completed, list and read the blocks back, list the changes of a child
snapshot, and check that modelled errors reach boto3 as its modelled exceptions with their Reason.

Usage: boto3_roundtrip.py --endpoint http://127.0.0.1:PORT [--region us-east-1]
Prints "boto3 round trip: OK" and exits 0; exits 1 on the first mismatch.
"""

import argparse
import base64
import hashlib
import random
import sys
import time

import boto3
from botocore.config import Config

BLOCK = 512 * 1024
DEFAULT_ACCESS_KEY = "AKIAEBSLOCAL00000000"
DEFAULT_SECRET_KEY = "ebs-local/secret/key/for/local/use/only0"


class Mismatch(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Mismatch(what)


def block(seed):
    return random.Random(seed).randbytes(BLOCK)


def b64sha256(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def linear(blocks_in_index_order):
    md = hashlib.sha256()
    for b in blocks_in_index_order:
        md.update(hashlib.sha256(b).digest())
    return base64.b64encode(md.digest()).decode("ascii")


def reason_of(err):
    """Where botocore puts the modelled Reason member of an error shape."""
    resp = err.response
    if "Reason" in resp:
        return resp["Reason"]
    return resp.get("Error", {}).get("Reason")


def put(ebs, snapshot_id, index, data):
    r = ebs.put_snapshot_block(
        SnapshotId=snapshot_id,
        BlockIndex=index,
        BlockData=data,
        DataLength=len(data),
        Checksum=b64sha256(data),
        ChecksumAlgorithm="SHA256",
    )
    check(r["Checksum"] == b64sha256(data), f"put {index}: checksum echoed {r['Checksum']}")
    check(r["ChecksumAlgorithm"] == "SHA256", f"put {index}: algorithm {r['ChecksumAlgorithm']}")


def complete(ebs, snapshot_id, blocks_in_index_order):
    r = ebs.complete_snapshot(
        SnapshotId=snapshot_id,
        ChangedBlocksCount=len(blocks_in_index_order),
        Checksum=linear(blocks_in_index_order),
        ChecksumAlgorithm="SHA256",
        ChecksumAggregationMethod="LINEAR",
    )
    check(r["Status"] in ("pending", "completed"), f"complete status {r['Status']}")


def await_completed(ec2, snapshot_id, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snaps = ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
        check(len(snaps) == 1, f"describe_snapshots {snapshot_id}: {snaps}")
        state = snaps[0]["State"]
        if state == "completed":
            return snaps[0]
        check(state == "pending", f"{snapshot_id} went to {state}: {snaps[0].get('StateMessage')}")
        time.sleep(0.1)
    raise Mismatch(f"{snapshot_id} not completed within {timeout} s")


def read(ebs, snapshot_id, index, token, expected):
    r = ebs.get_snapshot_block(SnapshotId=snapshot_id, BlockIndex=index, BlockToken=token)
    data = r["BlockData"].read()
    check(data == expected, f"get {snapshot_id}/{index}: bytes differ")
    check(r["DataLength"] == BLOCK, f"get {index}: DataLength {r['DataLength']}")
    check(r["Checksum"] == b64sha256(data), f"get {index}: checksum {r['Checksum']}")
    check(r["ChecksumAlgorithm"] == "SHA256", f"get {index}: {r['ChecksumAlgorithm']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--access-key", default=DEFAULT_ACCESS_KEY)
    ap.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    args = ap.parse_args()

    session = boto3.session.Session(
        aws_access_key_id=args.access_key,
        aws_secret_access_key=args.secret_key,
        region_name=args.region,
    )
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"})
    ebs = session.client("ebs", endpoint_url=args.endpoint, config=cfg)
    ec2 = session.client("ec2", endpoint_url=args.endpoint, config=cfg)

    # --- a full snapshot with two blocks
    s = ebs.start_snapshot(VolumeSize=1, Description="boto3 round trip", Timeout=60)
    parent = s["SnapshotId"]
    check(parent.startswith("snap-"), f"snapshot id {parent}")
    check(s["Status"] == "pending", f"start status {s['Status']}")
    check(s["VolumeSize"] == 1 and s["BlockSize"] == BLOCK, f"start geometry {s}")

    b0, b7 = block(1), block(2)
    put(ebs, parent, 0, b0)
    put(ebs, parent, 7, b7)
    complete(ebs, parent, [b0, b7])
    described = await_completed(ec2, parent)
    check(described["VolumeSize"] == 1, f"describe volume size {described['VolumeSize']}")
    check(described.get("Description") == "boto3 round trip", f"description {described}")

    listed = ebs.list_snapshot_blocks(SnapshotId=parent)
    indexes = [b["BlockIndex"] for b in listed["Blocks"]]
    check(indexes == [0, 7], f"list_snapshot_blocks indexes {indexes}")
    check("NextToken" not in listed, "list_snapshot_blocks: unexpected NextToken")
    check(listed["BlockSize"] == BLOCK and listed["VolumeSize"] == 1, f"list geometry {listed}")
    tokens = {b["BlockIndex"]: b["BlockToken"] for b in listed["Blocks"]}
    read(ebs, parent, 0, tokens[0], b0)
    read(ebs, parent, 7, tokens[7], b7)

    # --- a child: overwrite block 7, add block 9
    c = ebs.start_snapshot(VolumeSize=1, ParentSnapshotId=parent, Timeout=60)
    child = c["SnapshotId"]
    check(c.get("ParentSnapshotId") == parent, f"child parent {c.get('ParentSnapshotId')}")
    c7, c9 = block(3), block(4)
    put(ebs, child, 7, c7)
    put(ebs, child, 9, c9)
    complete(ebs, child, [c7, c9])
    await_completed(ec2, child)

    changed = ebs.list_changed_blocks(FirstSnapshotId=parent, SecondSnapshotId=child)
    by_index = {b["BlockIndex"]: b for b in changed["ChangedBlocks"]}
    check(sorted(by_index) == [7, 9], f"list_changed_blocks indexes {sorted(by_index)}")
    check("FirstBlockToken" in by_index[7] and "SecondBlockToken" in by_index[7],
          f"changed 7 tokens {by_index[7]}")
    check("FirstBlockToken" not in by_index[9] and "SecondBlockToken" in by_index[9],
          f"changed 9 tokens {by_index[9]}")
    read(ebs, parent, 7, by_index[7]["FirstBlockToken"], b7)
    read(ebs, child, 7, by_index[7]["SecondBlockToken"], c7)
    read(ebs, child, 9, by_index[9]["SecondBlockToken"], c9)

    # The child inherits block 0 from its parent.
    child_list = ebs.list_snapshot_blocks(SnapshotId=child)
    check([b["BlockIndex"] for b in child_list["Blocks"]] == [0, 7, 9],
          f"child blocks {child_list['Blocks']}")

    # --- modelled errors with their Reason
    try:
        ebs.start_snapshot(VolumeSize=70000)
        raise Mismatch("start_snapshot(VolumeSize=70000) succeeded")
    except ebs.exceptions.ValidationException as e:
        print("ValidationException response:", {k: v for k, v in e.response.items()
                                                 if k != "ResponseMetadata"})
        check(e.response["Error"]["Code"] == "ValidationException", f"code {e.response}")
        check(reason_of(e) == "INVALID_VOLUME_SIZE", f"reason {reason_of(e)}")
        check(e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, "status not 400")

    missing = "snap-0123456789abcdef0"
    try:
        put(ebs, missing, 0, b0)
        raise Mismatch("put_snapshot_block on a missing snapshot succeeded")
    except ebs.exceptions.ResourceNotFoundException as e:
        print("ResourceNotFoundException response:", {k: v for k, v in e.response.items()
                                                      if k != "ResponseMetadata"})
        check(reason_of(e) == "SNAPSHOT_NOT_FOUND", f"reason {reason_of(e)}")
        check(e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, "status not 404")

    try:
        ec2.describe_snapshots(SnapshotIds=[missing])
        raise Mismatch("describe_snapshots of a missing snapshot succeeded")
    except ec2.exceptions.ClientError as e:
        check(e.response["Error"]["Code"] == "InvalidSnapshot.NotFound", f"ec2 {e.response}")

    print("boto3 round trip: OK")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Mismatch as m:
        print(f"boto3 round trip: MISMATCH: {m}", file=sys.stderr)
        sys.exit(1)
