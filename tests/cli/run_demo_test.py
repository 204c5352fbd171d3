#!/usr/bin/python3
"""`make run`'s script (deploy/run-demo.sh) on a terminal, as a person runs it.

1. Under a pty, with the config's listener and admin ports moved to free ones: the banner
   names the echo backend's real address; a client's message is echoed; Ctrl-C on the
   terminal (the pty's ^C, which the kernel sends to the foreground process group) drains
   wsgate: the client gets close 1001, the script prints "run: stopped" and exits 0. The
   wsgate log on the terminal is text ("auto" format), not JSON.
2. The echo port taken (WSGATE_ECHO_PORT=a port this test holds): the run fails naming it.
3. The listener port taken: the run fails with wsgate's "address already in use" line.

usage: run_demo_test.py BUILD_DIR REPO_ROOT
"""
import asyncio
import os
import pty
import re
import select
import socket
import sys
import tempfile
import time

import websockets

BUILD, ROOT = (os.path.abspath(a) for a in sys.argv[1:3])
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_config(listen_port, admin_port):
    with open(os.path.join(ROOT, "conf/wsgate.toml")) as f:
        text = f.read()
    text = text.replace('listen = "127.0.0.1:8080"', f'listen = "127.0.0.1:{listen_port}"')
    text = text.replace('listen = "127.0.0.1:9901"', f'listen = "127.0.0.1:{admin_port}"')
    path = os.path.join(tempfile.mkdtemp(), "wsgate.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


class Terminal:
    """deploy/run-demo.sh on a new pty; `output` is everything it printed."""

    def __init__(self, env, argv=("bash", "deploy/run-demo.sh", BUILD)):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(ROOT)
            os.execvpe(argv[0], list(argv), {**os.environ, **env})
        self.output = b""
        self.status = None

    def read_until(self, pattern, timeout=30):
        """Waits for `pattern` (bytes regex) in the output, or the end of the output."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.output):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the other side closed: the script and its children are gone
                    return bool(re.search(pattern, self.output))
                if not chunk:
                    return bool(re.search(pattern, self.output))
                self.output += chunk
        return True

    def wait(self, timeout=30):
        self.read_until(rb"\Z(?!x)x", timeout)  # drain to EOF (never matches)
        deadline = time.monotonic() + timeout
        while self.status is None and time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
            else:
                select.select([], [], [], 0.05)
        if self.status is None:  # never leave it running into the next case
            os.killpg(self.pid, 9)
            os.waitpid(self.pid, 0)
        return self.status


def test_ctrl_c_drains():
    listen, admin = free_port(), free_port()
    term = Terminal({"WSGATE_CONFIG": demo_config(listen, admin)})
    ok = term.read_until(rb"Press Ctrl-C to stop")
    check(ok, "no banner: " + term.output.decode(errors="replace"))
    if not ok:
        return
    banner = term.output.decode(errors="replace")
    echo = re.search(r"in front of the demo echo backend \((127\.0\.0\.1:(\d+))\)", banner)
    check(echo is not None, "banner names no echo address: " + banner)
    check(f"ws://127.0.0.1:{listen}/echo" in banner, "banner has no ws URL: " + banner)
    check(f"http://127.0.0.1:{admin}/metrics" in banner, "banner has no admin URL: " + banner)
    if echo:
        with socket.create_connection(("127.0.0.1", int(echo.group(2)))):
            pass  # something listens on the port the banner names
    # Text log lines on the terminal, e.g. "2026-...Z info ready workers=2 ...".
    check(re.search(r"^\S+Z info ready workers=", banner, re.M) is not None,
          "no text 'ready' line on the terminal: " + banner)
    check('{"ts"' not in banner, "JSON log lines on a terminal: " + banner)

    async def client():
        async with websockets.connect(f"ws://127.0.0.1:{listen}/echo") as ws:
            await ws.send("hello")
            check(await ws.recv() == "hello", "no echo")
            os.write(term.fd, b"\x03")  # Ctrl-C on the terminal
            try:
                await asyncio.wait_for(ws.recv(), 20)
            except websockets.ConnectionClosed:
                pass
            return ws.close_code, ws.close_reason

    code, reason = asyncio.run(client())
    check((code, reason) == (1001, "server shutting down"),
          f"client closed with {code} {reason!r}, expected 1001 'server shutting down'")
    status = term.wait()
    out = term.output.decode(errors="replace")
    check(status == 0, f"run-demo.sh exited {status}: {out}")
    check("run: stopped" in out, "no 'run: stopped': " + out)
    check(re.search(r"info stopped", out) is not None, "wsgate did not log 'stopped': " + out)


def test_make_run_ctrl_c_at_once():
    """`make run` itself, Ctrl-C the moment the banner is out: make exits 0."""
    term = Terminal({"WSGATE_CONFIG": demo_config(free_port(), free_port())},
                    ("make", "--no-print-directory", "run", "BUILD_DIR=" + BUILD))
    ok = term.read_until(rb"Press Ctrl-C to stop", timeout=120)
    check(ok, "make run: no banner: " + term.output.decode(errors="replace"))
    os.write(term.fd, b"\x03")
    status = term.wait()
    out = term.output.decode(errors="replace")
    check(status == 0, f"make run: exited {status} after Ctrl-C: {out[-2000:]}")
    check("run: stopped" in out and "Error" not in out, "make run: " + out[-2000:])


def test_echo_port_taken():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    term = Terminal({"WSGATE_CONFIG": demo_config(free_port(), free_port()),
                     "WSGATE_ECHO_PORT": str(port)})
    status = term.wait()
    out = term.output.decode(errors="replace")
    check(status == 1, f"echo port taken: exited {status}: {out}")
    check(f"cannot listen on 127.0.0.1 port {port}: address already in use" in out,
          "echo port taken: no message naming the port: " + out)
    holder.close()


def test_listener_port_taken():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    term = Terminal({"WSGATE_CONFIG": demo_config(port, free_port())})
    status = term.wait()
    out = term.output.decode(errors="replace")
    check(status == 1, f"listener port taken: exited {status}: {out}")
    check(f"listener public on 127.0.0.1:{port}: address already in use" in out,
          "listener port taken: no message naming the port: " + out)
    check("run: wsgate did not start" in out, "listener port taken: no run: line: " + out)
    holder.close()


test_ctrl_c_drains()
test_make_run_ctrl_c_at_once()
test_echo_port_taken()
test_listener_port_taken()
if failures:
    print(f"{len(failures)} run-demo check(s) failed", file=sys.stderr)
    sys.exit(1)
print("all run-demo checks passed")
