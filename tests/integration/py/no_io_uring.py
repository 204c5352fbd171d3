#!/usr/bin/env python3
"""Runs a command under a seccomp filter that refuses io_uring_setup with EPERM, as container
runtimes' default profiles do:  no_io_uring.py COMMAND [ARG...]

The filter answers only io_uring_setup (system call 425 on every Linux architecture) and allows
everything else; it is inherited by the command, which cannot lift it (no_new_privs).
"""
import ctypes
import os
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
EPERM = 1
NR_IO_URING_SETUP = 425


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def main():
    if len(sys.argv) < 2:
        print("usage: no_io_uring.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    program = (SockFilter * 4)(
        SockFilter(0x20, 0, 0, 0),  # load seccomp_data.nr
        SockFilter(0x15, 0, 1, NR_IO_URING_SETUP),  # == io_uring_setup ?
        SockFilter(0x06, 0, 0, SECCOMP_RET_ERRNO | EPERM),
        SockFilter(0x06, 0, 0, SECCOMP_RET_ALLOW),
    )
    fprog = SockFprog(len(program), program)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        print("prctl(PR_SET_NO_NEW_PRIVS) failed", file=sys.stderr)
        return 1
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        print(f"prctl(PR_SET_SECCOMP) failed: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 1
    os.execvp(sys.argv[1], sys.argv[1:])
    return 1


if __name__ == "__main__":
    sys.exit(main())
