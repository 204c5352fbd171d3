"""A TCP listener whose accept queue is full, so new connects to it hang (SYNs are dropped).

Usage: unaccepting_listener.py
Binds 127.0.0.1 port 0 with a backlog of 0, never accepts, fills the accept queue with one
connection of its own, and prints `listening 127.0.0.1:PORT` once that filler connection is
established. Exits when stdin closes or on SIGTERM.
Run it with /usr/bin/python3.
"""

import socket
import sys

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen(0)
port = server.getsockname()[1]

# Linux queues backlog + 1 connections: one filler makes the queue full, so the next SYN
# is dropped and that connect hangs.
filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
filler.connect(("127.0.0.1", port))

sys.stdout.write(f"listening 127.0.0.1:{port}\n")
sys.stdout.flush()
sys.stdin.read()
