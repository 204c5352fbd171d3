"""A Python `websockets` peer with its default compression (permessage-deflate) on.

Usage: ws_deflate_peer.py client URL COUNT   sends COUNT JSON-like text messages, reads one
                                             echo each, closes with 1000 and prints one JSON
                                             line: {"ok", "extensions", "echoed", "matched",
                                             "close_code"}
       ws_deflate_peer.py server             an echo server on 127.0.0.1:0 that prints
                                             `listening 127.0.0.1:PORT` and, for each
                                             connection, the extension it negotiated
Run it with /usr/bin/python3 (Debian's python3-websockets).
"""

import asyncio
import json
import sys

import websockets
import websockets.client
import websockets.server


def message(i):
    return json.dumps({"seq": i, "event": "price", "symbol": "WSGT", "bid": 100 + i % 7,
                       "note": "compressible " * 20})


async def client(url, count):
    async with websockets.client.connect(url, ping_interval=None, max_size=None) as ws:
        matched = 0
        for i in range(count):
            await ws.send(message(i))
            reply = await asyncio.wait_for(ws.recv(), 15)
            matched += reply == message(i)
        extensions = ws.response_headers.get("Sec-WebSocket-Extensions")
        await ws.close(1000, "done")
        return {"ok": True, "extensions": extensions, "echoed": count, "matched": matched,
                "close_code": ws.close_code}


async def server():
    async def echo(ws):
        async for msg in ws:
            await ws.send(msg)

    async with websockets.server.serve(echo, "127.0.0.1", 0, ping_interval=None) as srv:
        port = srv.sockets[0].getsockname()[1]
        sys.stdout.write(f"listening 127.0.0.1:{port}\n")
        sys.stdout.flush()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if sys.argv[1] == "client":
    print(json.dumps(asyncio.run(client(sys.argv[2], int(sys.argv[3])))))
else:
    asyncio.run(server())
