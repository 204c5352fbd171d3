#!/usr/bin/python3
"""wsgate's sd_notify messages, received on a unix datagram socket this test owns (a path,
then an abstract "@name" socket), the way systemd receives them for Type=notify:

  READY=1 (with STATUS and MAINPID) once the listeners are bound: a connect succeeds then;
  RELOADING=1 (with MONOTONIC_USEC) then READY=1 on SIGHUP, for a good and for a bad file;
  STOPPING=1 on SIGTERM, and exit 0.

usage: sd_notify_test.py WSGATE_BINARY
"""
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

WSGATE = sys.argv[1]
failures = []

CONFIG = """
[server]
workers = 1
drain_timeout = "5s"
[admin]
listen = "127.0.0.1:0"
[log]
format = "json"
[[listeners]]
name = "public"
listen = "127.0.0.1:0"
[[routes]]
listener = "public"
pool = "echo"
[[pools]]
name = "echo"
backends = ["127.0.0.1:9"]
"""


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def receive(sock, proc, timeout=15):
    """The next datagram, or None when none comes in time."""
    ready, _, _ = select.select([sock], [], [], timeout)
    if not ready:
        return None
    return sock.recv(4096).decode()


def log_line(proc, event, timeout=15):
    """Reads wsgate's stderr (JSON lines) up to the first line of `event`."""
    deadline = time.monotonic() + timeout
    pending = b""
    while time.monotonic() < deadline:
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            entry = json.loads(line)
            if entry.get("event") == event:
                return entry
        ready, _, _ = select.select([proc.stderr], [], [], deadline - time.monotonic())
        if not ready:
            break
        chunk = os.read(proc.stderr.fileno(), 65536)
        if not chunk:
            break
        pending += chunk
    return None


def run(notify_name, bind_name, check_reloads):
    work = tempfile.mkdtemp()
    config = os.path.join(work, "wsgate.toml")
    with open(config, "w") as f:
        f.write(CONFIG)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(bind_name)
    env = {**os.environ, "NOTIFY_SOCKET": notify_name}
    proc = subprocess.Popen([WSGATE, "-c", config], env=env, stderr=subprocess.PIPE)
    try:
        ready = receive(sock, proc)
        check(ready == f"READY=1\nSTATUS=ready, workers=1\nMAINPID={proc.pid}",
              f"{notify_name}: first message {ready!r}")
        listening = log_line(proc, "listening")
        check(listening is not None, f"{notify_name}: no listening line")
        if listening:
            host, port = listening["address"].rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=5):
                pass  # bound and listening when READY=1 came
        if check_reloads:
            proc.send_signal(signal.SIGHUP)
            reloading = receive(sock, proc)
            check(reloading is not None and
                  re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=\d+", reloading) is not None,
                  f"SIGHUP: {reloading!r}, expected RELOADING=1")
            again = receive(sock, proc)
            check(again == "READY=1\nSTATUS=configuration reloaded",
                  f"after the reload: {again!r}")
            with open(config, "a") as f:
                f.write("bogus_key = 1\n")
            proc.send_signal(signal.SIGHUP)
            reloading = receive(sock, proc)
            check(reloading is not None and reloading.startswith("RELOADING=1\n"),
                  f"SIGHUP with a bad file: {reloading!r}")
            again = receive(sock, proc)
            check(again == "READY=1\nSTATUS=reload failed: the running configuration is kept",
                  f"after the failed reload: {again!r}")
        proc.send_signal(signal.SIGTERM)
        stopping = receive(sock, proc)
        check(stopping == "STOPPING=1\nSTATUS=draining", f"SIGTERM: {stopping!r}")
        code = proc.wait(timeout=15)
        check(code == 0, f"{notify_name}: exit {code}")
        extra = receive(sock, proc, timeout=0)
        check(extra is None, f"{notify_name}: a message after STOPPING=1: {extra!r}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()


work = tempfile.mkdtemp()
path = os.path.join(work, "notify.sock")
run(path, path, check_reloads=True)
abstract = f"wsgate-notify-test-{os.getpid()}"
run("@" + abstract, "\0" + abstract, check_reloads=False)
if failures:
    print(f"{len(failures)} sd_notify check(s) failed", file=sys.stderr)
    sys.exit(1)
print("all sd_notify checks passed")
