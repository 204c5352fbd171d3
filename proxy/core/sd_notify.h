#pragma once

#include <string>
#include <string_view>

namespace wsgate::proxy {

// The service manager's notification protocol (sd_notify(3)) without libsystemd: one datagram
// of "KEY=VALUE" lines to the unix socket named by $NOTIFY_SOCKET (a path, or an abstract
// socket when it starts with '@'). Without the variable nothing is sent.
//
// wsgate sends READY=1 once its listeners are bound and the workers run, RELOADING=1 (with
// MONOTONIC_USEC) before a SIGHUP reload and READY=1 after it, STOPPING=1 when it drains.

// Sends `state`; returns false when $NOTIFY_SOCKET is unset or the send failed (which the
// caller may ignore: wsgate runs the same without a service manager).
bool sdNotify(std::string_view state);

// "RELOADING=1\nMONOTONIC_USEC=N" with CLOCK_MONOTONIC now, as systemd 253+ expects.
std::string sdReloadingState();

} // namespace wsgate::proxy
