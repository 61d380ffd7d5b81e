#!/usr/bin/env python3
"""Replays TCG PC Client event logs to PCR values with hashlib only: an implementation
independent of mrstack's, written from the TCG PC Client Platform Firmware Profile (PFP)
specification, against which the `registers.computed` goldens in
test/fixtures/eventlogs/*/expected.json are checked.

Reads each log given on the command line and prints one JSON object:
{"<file>": {"pcr<N>": {"<alg>": "<hex>"}}}.

Rules (PFP, sections on the event log and PCR initialisation):
- A log whose first record is an EV_NO_ACTION "Spec ID Event03" is crypto-agile: later records
  carry a digest count and (algorithm id, digest) pairs sized by the Spec ID event's table.
  Otherwise every record is the SHA-1 (TPM 1.2 style) form.
- PCRs start at zero, except PCR 17-22 (all ones; DRTM) and PCR0 after a StartupLocality event
  (EV_NO_ACTION, signature "StartupLocality\\0"), which starts at the locality in its last byte
  (3, or 4 for an H-CRTM), or at locality 4 when its first record is an EV_EFI_HCRTM_EVENT.
- EV_NO_ACTION records are never extended; every other record extends its PCR in every bank
  it carries: new = H(old || digest).
"""
import hashlib
import json
import struct
import sys

EV_NO_ACTION = 0x3
EV_EFI_HCRTM_EVENT = 0x80000010
ALG = {0x0004: ("sha1", 20), 0x000B: ("sha256", 32), 0x000C: ("sha384", 48),
       0x000D: ("sha512", 64), 0x0012: ("sm3", 32)}
HASHLIB = {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512",
           "sm3": "sm3"}


def reset_value(pcr, size, locality):
    if 17 <= pcr <= 22:
        return b"\xff" * size
    if pcr == 0 and locality is not None:
        return bytes(size - 1) + bytes([locality])
    return bytes(size)


def records(data):
    """Yields (pcr, type, {alg: digest}, event data) for every record."""
    if len(data) < 32:
        raise ValueError("log too short")
    pcr, etype = struct.unpack_from("<II", data, 0)
    digest = data[8:28]
    (size,) = struct.unpack_from("<I", data, 28)
    first = data[32:32 + size]
    pos = 32 + size
    yield pcr, etype, {"sha1": digest}, first
    agile = etype == EV_NO_ACTION and first.startswith(b"Spec ID Event03\x00")
    sizes = {}
    if agile:
        (count,) = struct.unpack_from("<I", first, 24)
        for i in range(count):
            alg_id, dsize = struct.unpack_from("<HH", first, 28 + 4 * i)
            sizes[alg_id] = dsize
    while pos < len(data):
        pcr, etype = struct.unpack_from("<II", data, pos)
        pos += 8
        digests = {}
        if agile:
            (count,) = struct.unpack_from("<I", data, pos)
            pos += 4
            for _ in range(count):
                (alg_id,) = struct.unpack_from("<H", data, pos)
                pos += 2
                dsize = sizes[alg_id]
                name = ALG[alg_id][0] if alg_id in ALG else "alg%04x" % alg_id
                digests[name] = data[pos:pos + dsize]
                pos += dsize
        else:
            digests["sha1"] = data[pos:pos + 20]
            pos += 20
        (size,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if pos + size > len(data):
            raise ValueError("record cut short at offset %d" % pos)
        yield pcr, etype, digests, data[pos:pos + size]
        pos += size


def replay(data):
    locality = None
    banks = {}  # pcr -> alg -> value
    for pcr, etype, digests, event in records(data):
        if etype == EV_NO_ACTION:
            if event.startswith(b"StartupLocality\x00") and len(event) >= 17:
                locality = event[16]
            continue
        if etype == EV_EFI_HCRTM_EVENT and pcr == 0 and 0 not in banks:
            # An H-CRTM sequence measured before the firmware: PCR0 starts at locality 4.
            locality = 4
        for alg, d in digests.items():
            if alg not in HASHLIB:
                continue
            regs = banks.setdefault(pcr, {})
            old = regs.get(alg)
            if old is None:
                old = reset_value(pcr, len(d), locality)
            regs[alg] = hashlib.new(HASHLIB[alg], old + d).digest()
    return {"pcr%d" % p: {a: v.hex() for a, v in b.items()} for p, b in sorted(banks.items())}


def main(paths):
    out = {}
    for p in paths:
        with open(p, "rb") as f:
            out[p] = replay(f.read())
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
