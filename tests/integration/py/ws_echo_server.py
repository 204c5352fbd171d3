"""A Python `websockets` echo backend for the integration tests.

Usage: ws_echo_server.py [--subprotocol P]...
Listens on 127.0.0.1 port 0 and prints `listening 127.0.0.1:PORT` once bound. Every
connection first gets one text message: JSON {"path": ..., "headers": {lower-case: value},
"subprotocol": ...}, then every message is echoed with its type. Stops on SIGTERM/SIGINT.
Run it with /usr/bin/python3 (Debian's python3-websockets).
"""

import argparse
import asyncio
import json
import signal
import sys

import websockets
import websockets.server


async def handler(ws, path):
    headers = {}
    for name, value in ws.request_headers.raw_items():
        key = name.lower()
        headers[key] = value if key not in headers else headers[key] + ", " + value
    await ws.send(json.dumps({"path": path, "headers": headers, "subprotocol": ws.subprotocol}))
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.exceptions.ConnectionClosed:
        pass


async def main(args):
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.server.serve(
        handler,
        "127.0.0.1",
        0,
        subprotocols=args.subprotocol or None,
        compression=None,
        ping_interval=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        sys.stdout.write(f"listening 127.0.0.1:{port}\n")
        sys.stdout.flush()
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--subprotocol", action="append", default=[])
    asyncio.run(main(parser.parse_args()))
