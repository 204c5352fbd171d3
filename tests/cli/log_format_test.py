#!/usr/bin/python3
"""[log] format = "auto" (the default) on the real binary: under a pty wsgate writes text
lines ("TS info ready workers=1 ..."), with stderr on a pipe it writes JSON lines. "text"
and "json" are what they say whatever stderr is.

usage: log_format_test.py WSGATE_BINARY
"""
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

WSGATE = sys.argv[1]
failures = []

CONFIG = """
[server]
workers = 1
[admin]
listen = "127.0.0.1:0"
%s
[[listeners]]
name = "public"
listen = "127.0.0.1:0"
"""


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def config_file(log_table):
    path = os.path.join(tempfile.mkdtemp(), "wsgate.toml")
    with open(path, "w") as f:
        f.write(CONFIG % log_table)
    return path


def read_until(fd, pattern, timeout=15):
    out = b""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, out) and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
        if not ready:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


def on_a_terminal(log_table, ready=rb"info ready ", stopped=rb"info stopped"):
    """wsgate with stderr (and stdin, stdout) on a pty; returns what the pty showed."""
    config = config_file(log_table)
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(WSGATE, [WSGATE, "-c", config])
    out = read_until(fd, ready)
    os.kill(pid, signal.SIGTERM)
    out += read_until(fd, stopped)
    _, status = os.waitpid(pid, 0)
    check(os.waitstatus_to_exitcode(status) == 0, "pty run: bad exit status")
    return out


def on_a_pipe(log_table, ready=rb'"event":"ready"', stopped=rb'"event":"stopped"'):
    config = config_file(log_table)
    proc = subprocess.Popen([WSGATE, "-c", config], stderr=subprocess.PIPE)
    out = read_until(proc.stderr.fileno(), ready)
    proc.send_signal(signal.SIGTERM)
    out += read_until(proc.stderr.fileno(), stopped)
    check(proc.wait(timeout=15) == 0, "pipe run: bad exit status")
    return out


# The default (no [log] table) is "auto": text on a terminal.
text = on_a_terminal("")
lines = [l for l in text.replace("\r", "").split("\n") if l]
check(len(lines) >= 4, "terminal: too few lines: " + text)
for line in lines:
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warn|error) \S+( .*)?", line)
          is not None, "terminal: not a text line: " + repr(line))
check(re.search(r"^\S+ info ready workers=1 workers_source=config ", text, re.M) is not None,
      "terminal: no text ready line: " + text)
check("{" not in text, "terminal: JSON in the output: " + text)

# "auto" written out, stderr on a pipe: JSON lines.
piped = on_a_pipe('[log]\nformat = "auto"')
events = []
for line in piped.splitlines():
    try:
        entry = json.loads(line)
    except ValueError:
        check(False, "pipe: not a JSON line: " + repr(line))
        continue
    events.append(entry.get("event"))
    check(entry.get("level") in ("info", "warn", "error"), "pipe: no level: " + line)
# One io_engine line per worker (server.io) comes before "ready".
started = [e for e in events if e != "io_engine"]
check(started[:4] == ["listening", "admin_listening", "ready", "draining"] and
      events.count("io_engine") == 1 and events[-1] == "stopped", f"pipe: events {events}")

# "text" forced: text on a pipe too; "json" forced: JSON on a terminal.
forced = on_a_pipe('[log]\nformat = "text"', rb"info ready ", rb"info stopped")
check(re.search(r"^\S+ info stopped$", forced, re.M) is not None, "text on a pipe: " + forced)
forced = on_a_terminal('[log]\nformat = "json"', rb'"event":"ready"', rb'"event":"stopped"')
check('"event":"ready"' in forced, "json on a terminal: " + forced)

if failures:
    print(f"{len(failures)} log format check(s) failed", file=sys.stderr)
    sys.exit(1)
print("all log format checks passed")
