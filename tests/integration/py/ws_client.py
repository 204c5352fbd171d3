"""A Python `websockets` client for the integration tests.

Usage: ws_client.py URL [--subprotocol P]... [--text T]... [--binary-hex H]... [--close-code C]
       [--close-reason R] [--origin O] [--timeout S]

Connects to URL, sends every --text and --binary-hex message in order (texts first), reads
one echo per message, closes with --close-code/--close-reason (default 1000 "done") and prints
one JSON line:
  {"ok": true, "subprotocol": ..., "echoes": [{"type": "text"|"binary", "data": str|hex}],
   "close_code": int, "close_reason": str, "response_headers": {lower-case name: value}}
On a failed handshake it prints {"ok": false, "status": int|null, "error": str} (exit 0).
Run it with /usr/bin/python3 (Debian's python3-websockets).
"""

import argparse
import asyncio
import json
import sys

import websockets
import websockets.client
import websockets.exceptions


async def run(args):
    try:
        ws = await websockets.client.connect(
            args.url,
            subprotocols=args.subprotocol or None,
            origin=args.origin,
            compression=None,
            open_timeout=args.timeout,
            close_timeout=args.timeout,
            ping_interval=None,
        )
    except websockets.exceptions.InvalidStatusCode as e:
        return {"ok": False, "status": e.status_code, "error": str(e)}
    except (websockets.exceptions.InvalidHandshake, OSError, asyncio.TimeoutError) as e:
        return {"ok": False, "status": None, "error": f"{type(e).__name__}: {e}"}

    echoes = []
    outgoing = [m for m in args.text] + [bytes.fromhex(h) for h in args.binary_hex]
    for message in outgoing:
        await ws.send(message)
        reply = await asyncio.wait_for(ws.recv(), args.timeout)
        if isinstance(reply, str):
            echoes.append({"type": "text", "data": reply})
        else:
            echoes.append({"type": "binary", "data": reply.hex()})
    await ws.close(code=args.close_code, reason=args.close_reason)
    return {
        "ok": True,
        "subprotocol": ws.subprotocol,
        "echoes": echoes,
        "close_code": ws.close_code,
        "close_reason": ws.close_reason,
        "response_headers": {k.lower(): v for k, v in ws.response_headers.raw_items()},
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--subprotocol", action="append", default=[])
    parser.add_argument("--text", action="append", default=[])
    parser.add_argument("--binary-hex", action="append", default=[])
    parser.add_argument("--close-code", type=int, default=1000)
    parser.add_argument("--close-reason", default="done")
    parser.add_argument("--origin")
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
