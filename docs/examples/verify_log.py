#!/usr/bin/env python3
"""Verify a Tally log with nothing but docs/FORMAT.md, Python's lmdb package, protoc and hashlib.

    pip install 'lmdb>=1.4' 'protobuf>=4.21,<5'      # and protoc (Debian: protobuf-compiler)
    python3 verify_log.py LOG_DIR [--head SEQ:HEX] [--schemas DIR]

Prints "intact N SEQ HEX" (events checked, head) and exits 0, or prints the first bad
sequence and the reason and exits 1. This file was written from FORMAT.md, not from Tally's code.
"""
import argparse
import hashlib
import importlib
import os
import struct
import atexit
import shutil
import subprocess
import sys
import tempfile

import lmdb


def load_envelope_class(schemas):
    """Compile schemas/tally/v1/envelope.proto with protoc and import the generated class."""
    out = tempfile.mkdtemp(prefix="tally-proto-")
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    subprocess.run(
        ["protoc", f"--proto_path={schemas}", f"--python_out={out}", "tally/v1/envelope.proto"],
        check=True,
    )
    sys.path.insert(0, out)
    return importlib.import_module("tally.v1.envelope_pb2").Envelope


def verify(path, envelope_class, recorded_head=None):
    env = lmdb.open(path, readonly=True, lock=False, max_dbs=16, subdir=True)
    events = env.open_db(b"events", create=False)
    expected, previous, checked, head = 1, bytes(32), 0, None
    with env.begin(db=events) as txn:
        for key, value in txn.cursor():
            if len(key) != 8:
                return fail(expected, "malformed record", f"key of {len(key)} bytes")
            (sequence,) = struct.unpack(">Q", key)
            if sequence != expected:
                return fail(expected, "gap", f"event {expected} is missing; next present is {sequence}")
            if len(value) <= 32:
                return fail(sequence, "malformed record", f"{len(value)} bytes")
            stored_hash, envelope_bytes = value[:32], value[32:]
            if hashlib.sha256(envelope_bytes).digest() != stored_hash:
                return fail(sequence, "hash mismatch", "the envelope does not hash to the stored hash")
            envelope = envelope_class()
            try:
                envelope.ParseFromString(envelope_bytes)
            except Exception as error:  # noqa: BLE001 - any decode failure is the finding
                return fail(sequence, "undecodable envelope", str(error))
            if envelope.sequence != sequence:
                return fail(sequence, "sequence mismatch", f"envelope says {envelope.sequence}")
            if envelope.previous_hash != previous:
                return fail(sequence, "broken link", "previous_hash is not the previous event's hash")
            previous, expected, checked, head = stored_hash, sequence + 1, checked + 1, (sequence, stored_hash)
        if recorded_head is not None:
            sequence, digest = recorded_head
            value = txn.get(struct.pack(">Q", sequence))
            if value is None or hashlib.sha256(value[32:]).digest() != digest:
                return fail(sequence, "truncated", "the log no longer holds the recorded head")
    if head is None:
        print("intact 0 (empty log)")
    else:
        print(f"intact {checked} {head[0]} {head[1].hex()}")
    return 0


def fail(sequence, reason, detail):
    print(f"NOT INTACT: event {sequence}: {reason}: {detail}")
    return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log")
    parser.add_argument("--head", help="a recorded head, SEQ:HEX")
    default_schemas = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas")
    parser.add_argument("--schemas", default=default_schemas)
    args = parser.parse_args()
    head = None
    if args.head:
        sequence, digest = args.head.split(":")
        head = (int(sequence), bytes.fromhex(digest))
    sys.exit(verify(args.log, load_envelope_class(args.schemas), head))


if __name__ == "__main__":
    main()
