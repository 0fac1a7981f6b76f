"""Benchmark: reading an encrypted history (issue 15, item 3).

The synthetic Temporal history of ``history_frame.py`` (default 10,000 events here), every payload encrypted with
``AESGCMCodec``. Figures (best of 3, fresh History objects):

1. ``decode_history(h, AESGCMCodec) + to_dataframe()`` vs ``to_dataframe()`` of the same history without a codec
   (the baseline: markers instead of values) — what decoding costs on top of framing.
2. the same through a codec server on 127.0.0.1 (``RemoteCodec`` -> ``wfkit.codecs.serve``), one HTTP request for
   the whole history.
3. the encode side on Cadence: ``encode_messages`` over a decision-task-sized request vs serializing it.

Run: ``python benchmarks/codec_history.py [--events N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def best(fn, runs: int = 3) -> float:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


async def encrypt_history(proto, codec):
    from wfkit.codecs._apply import payload_messages
    from wfkit.codecs._payload import Payload

    msgs = payload_messages(proto.events, frozenset({"search_attributes"}))
    enc = await codec.encode([Payload(dict(m.metadata), bytes(m.data)) for m in msgs])
    for m, p in zip(msgs, enc, strict=True):
        m.Clear()
        for k, v in p.metadata.items():
            m.metadata[k] = v
        m.data = p.data
    return len(msgs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000)
    args = ap.parse_args()
    from history_frame import build_history

    from wfkit._loop import run_sync
    from wfkit.codecs import AESGCMCodec, RemoteCodec, decode_history, serve
    from wfkit.history import History

    codec = AESGCMCodec({"k1": os.urandom(32)})
    proto = build_history(args.events)
    n = asyncio.run(encrypt_history(proto, codec))
    wire = proto.SerializeToString()
    print(f"history: {args.events} events, {n} payloads encrypted, {len(wire) / 1e6:.1f} MB")

    def plain() -> None:
        History.from_proto(wire, engine="temporal").to_dataframe()

    def local() -> None:
        h = History.from_proto(wire, engine="temporal")
        run_sync(decode_history(h, codec)).to_dataframe()

    base = best(plain)
    dec = best(local)
    print(f"1. frame without codec (markers):      {base:.3f} s")
    print(f"   decode_history(AESGCMCodec) + frame: {dec:.3f} s  ({dec / base:.2f}x the baseline)")

    server = run_sync(serve(codec))
    try:
        remote = RemoteCodec(server.url, namespace="default", timeout=120)

        def through_server() -> None:
            h = History.from_proto(wire, engine="temporal")
            run_sync(decode_history(h, remote)).to_dataframe()

        rem = best(through_server)
        print(f"2. through a codec server + frame:      {rem:.3f} s  ({rem / base:.2f}x the baseline, "
              f"{rem / dec:.2f}x the local codec)")
    finally:
        run_sync(server.stop())

    from cadence.api.v1 import service_worker_pb2

    from wfkit.codecs._apply import encode_messages

    def request():
        req = service_worker_pb2.RespondDecisionTaskCompletedRequest()
        for i in range(100):
            d = req.decisions.add()
            d.schedule_activity_task_decision_attributes.input.data = (b'{"order": %d, "items": ["a", "b"]}\n' % i)
        return req

    ser = best(lambda: [request().SerializeToString() for _ in range(20)])
    enc = best(lambda: [run_sync(encode_messages([request()], codec)) for _ in range(20)])
    print(f"3. 20 decision requests of 100 activities: serialize {ser * 1000:.1f} ms, "
          f"encode_messages {enc * 1000:.1f} ms ({enc / ser:.1f}x)")


if __name__ == "__main__":
    main()
