#include "common/ws/close.h"
#include "proxy/probe/explain.h"
#include "proxy/probe/steps.h"
#include "proxy/probe/ws_client.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

namespace wsgate::probe {

namespace {

using Kind = WsEvent::Kind;

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, s >= 10 ? "%.0f s" : "%.1f s", s);
  return buf;
}

std::string quoted(const std::string& reason) {
  return reason.empty() ? "" : " '" + reason + "'";
}

struct Exchange {
  int sent = 0;
  int echoed = 0;
  std::vector<std::string> other; // messages that are not echoes (first few)
  int other_count = 0;
  std::vector<double> rtts; // ms
  bool reported = false;    // the "messages" and "ping" steps are out
  bool ended = false;       // the server ended the exchange early
};

void reportExchange(Exchange& ex, const Options& options, Report& report);

// The server ended the conversation (close frame, lost connection, protocol violation or
// silence) while the probe was `doing`. Reports it and returns the verdict.
Verdict serverEnded(WsClient& ws, const WsEvent& event, Report& report, const Options& options,
                    const std::string& doing, double silence_s) {
  const Clock::time_point deadline = Clock::now() + options.timeout;
  std::string what;
  uint16_t code = ws::close_code::kAbnormal;
  if (event.kind == Kind::Close) {
    code = event.code;
    const uint16_t echo = ws::isValidCloseCode(code) ? code : ws::close_code::kNormal;
    ws.sendClose(echo, "", deadline);
    const std::string meaning = explainClose(code, event.data);
    const bool has_reason = event.data.empty() || meaning.find(event.data) != std::string::npos;
    what = "the server closed the connection " + doing + " with " + meaning +
           (has_reason ? "" : " (reason '" + event.data + "')");
  } else if (event.kind == Kind::Eof) {
    what = "the connection ended " + doing + " without a close frame: " + explainClose(code, "");
  } else if (event.kind == Kind::Timeout) {
    what = "no answer " + doing + " within " + seconds(options.timeout.count() / 1000.0) +
           ": the server or an intermediary stopped answering (pings unanswered)";
  } else {
    if (event.code != 0) ws.sendClose(event.code, "", deadline);
    what = event.data.empty() ? "the connection failed " + doing : event.data;
  }
  const bool idle =
      silence_s >= 0 && (event.kind == Kind::Eof || code == 1000 || code == 1001 || code == 1005 ||
                         event.data.find("idle") != std::string::npos);
  if (idle) {
    what = "closed after " + seconds(silence_s) +
           " of silence: an intermediary's idle timeout; send pings more often than that. " +
           "Details: " + what;
  }
  Json fields;
  fields.str("closed_by", "server").integer("code", code).str("reason", event.data);
  fields.str("meaning", explainClose(code, event.data));
  if (silence_s >= 0) fields.num("silence_s", silence_s).boolean("idle_timeout", idle);
  report.step("close", false, -1, what, fields);
  const bool clean = event.kind == Kind::Close && code == ws::close_code::kNormal && !idle;
  return Verdict::fail(clean ? kExitHealthy : kExitConnection, what);
}

// After a failed write: the close frame the server may have sent before it went, else EOF.
WsEvent pendingEnd(WsClient& ws) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(500);
  for (;;) {
    WsEvent event = ws.next(deadline);
    if (event.kind == Kind::Close || event.kind == Kind::Error) return event;
    if (event.kind == Kind::Eof || event.kind == Kind::Timeout) return {Kind::Eof, {}, 0, {}};
  }
}

void takeMessage(const WsEvent& event, const Options& options, Exchange& ex) {
  if (event.data == options.send) {
    ++ex.echoed;
    return;
  }
  if (++ex.other_count <= 3) ex.other.push_back(event.data.substr(0, 200));
}

// Waits until `until` (the --interval), answering pings and taking messages.
Verdict idleUntil(WsClient& ws, Clock::time_point until, const Options& options, Report& report,
                  Exchange& ex, const std::string& doing) {
  for (;;) {
    const WsEvent event = ws.next(until);
    if (event.kind == Kind::Timeout) return {};
    if (event.kind == Kind::Message) {
      takeMessage(event, options, ex);
    } else if (event.kind != Kind::Pong) {
      ex.ended = true;
      reportExchange(ex, options, report);
      return serverEnded(ws, event, report, options, doing, -1);
    }
  }
}

Verdict exchange(WsClient& ws, const Options& options, Report& report, Exchange& ex) {
  for (int i = 1; i <= options.count; ++i) {
    const Clock::time_point deadline = Clock::now() + options.timeout;
    const std::string ping = "wsgate-probe " + std::to_string(i);
    if (!ws.send(ws::Opcode::Text, options.send, deadline)) {
      ex.ended = true;
      reportExchange(ex, options, report);
      return serverEnded(ws, pendingEnd(ws), report, options, "while sending", -1);
    }
    ++ex.sent;
    const Clock::time_point sent_at = Clock::now();
    ws.send(ws::Opcode::Ping, ping, deadline);
    for (bool pong = false; !pong;) {
      const WsEvent event = ws.next(deadline);
      if (event.kind == Kind::Message) {
        takeMessage(event, options, ex);
      } else if (event.kind == Kind::Pong && event.data == ping) {
        ex.rtts.push_back(msSince(sent_at));
        pong = true;
      } else if (event.kind != Kind::Pong) {
        ex.ended = true;
        reportExchange(ex, options, report);
        return serverEnded(ws, event, report, options, "while waiting for pong " + ping, -1);
      }
    }
    if (options.interval.count() > 0 && i < options.count) {
      Verdict v =
          idleUntil(ws, Clock::now() + options.interval, options, report, ex, "between messages");
      if (v.done) return v;
    }
  }
  return {};
}

void reportExchange(Exchange& ex, const Options& options, Report& report) {
  if (ex.reported) return;
  ex.reported = true;
  Json fields;
  fields.integer("sent", ex.sent).integer("echoed", ex.echoed).integer("other", ex.other_count);
  fields.strings("other_samples", ex.other);
  std::string text =
      "sent " + std::to_string(ex.sent) + " text message" + (ex.sent == 1 ? "" : "s") + " '" +
      (options.send.size() > 40 ? options.send.substr(0, 40) + "..." : options.send) + "', " +
      std::to_string(ex.echoed) + "/" + std::to_string(ex.sent) + " echoed";
  if (ex.other_count > 0) text += ", " + std::to_string(ex.other_count) + " other received";
  if (ex.echoed == 0 && ex.other_count == 0 && ex.sent > 0 && !ex.ended) {
    text += " (the server does not echo)";
  }
  report.step("messages", true, -1, text, fields);
  for (const std::string& m : ex.other)
    report.detail("received: " + m);
  if (ex.rtts.empty()) return;
  const auto [lo, hi] = std::minmax_element(ex.rtts.begin(), ex.rtts.end());
  const double avg = std::accumulate(ex.rtts.begin(), ex.rtts.end(), 0.0) / ex.rtts.size();
  char line[160];
  std::snprintf(line, sizeof line, "rtt min/avg/max %.3f/%.3f/%.3f ms over %zu ping%s", *lo, avg,
                *hi, ex.rtts.size(), ex.rtts.size() == 1 ? "" : "s");
  report.step("ping", true, -1, line,
              Json()
                  .num("rtt_min_ms", *lo)
                  .num("rtt_avg_ms", avg)
                  .num("rtt_max_ms", *hi)
                  .integer("pings", static_cast<int64_t>(ex.rtts.size())));
}

// --hold: stays idle; the server closing first is the finding.
Verdict hold(WsClient& ws, const Options& options, Report& report, Exchange& ex) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point until = start + options.hold;
  for (;;) {
    const Clock::time_point quiet_since = ws.lastActivity();
    const WsEvent event = ws.next(until);
    if (event.kind == Kind::Timeout) break;
    if (event.kind == Kind::Message) {
      takeMessage(event, options, ex);
    } else if (event.kind != Kind::Pong) {
      const double silence = std::chrono::duration<double>(Clock::now() - quiet_since).count();
      return serverEnded(ws, event, report, options, "while idle", silence);
    }
  }
  report.step("hold", true, msSince(start),
              "stayed connected and idle for " + seconds(msSince(start) / 1000.0) +
                  (ws.pingsAnswered() > 0
                       ? "; answered " + std::to_string(ws.pingsAnswered()) + " server pings"
                       : ""),
              Json().integer("server_pings", ws.pingsAnswered()));
  return {};
}

Verdict closeHandshake(WsClient& ws, const Options& options, Report& report) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + options.timeout;
  Json fields;
  fields.str("closed_by", "probe").integer("sent_code", 1000);
  if (!ws.sendClose(ws::close_code::kNormal, "probe done", deadline)) {
    const std::string why = "sending the close frame failed: " + ws.sendError();
    report.step("close", false, msSince(start), why, fields);
    return Verdict::fail(kExitConnection, why);
  }
  for (;;) {
    const WsEvent event = ws.next(deadline);
    if (event.kind == Kind::Message || event.kind == Kind::Pong) continue;
    if (event.kind == Kind::Close) {
      fields.integer("code", event.code).str("reason", event.data);
      const WsEvent after = ws.next(deadline);
      const std::string tcp =
          after.kind == Kind::Eof ? "; the server closed TCP" : "; TCP still open, closing it";
      report.step("close", true, msSince(start),
                  "sent 1000, the server answered " + std::to_string(event.code) +
                      quoted(event.data) + " (" + explainClose(event.code, event.data) + ")" + tcp,
                  fields);
      return {};
    }
    const std::string why =
        event.kind == Kind::Timeout
            ? "sent 1000, no close frame back within " + seconds(options.timeout.count() / 1000.0) +
                  ": the server does not complete the close handshake"
            : "sent 1000, the connection ended without a close frame back (1006)";
    report.step("close", false, msSince(start), why, fields);
    return Verdict::fail(kExitConnection, why);
  }
}

} // namespace

Verdict converse(Conn& conn, const Options& options, Report& report, Upgraded& upgraded) {
  WsClient ws(conn, std::move(upgraded.early), upgraded.allowed_rsv);
  Exchange ex;
  Verdict v = exchange(ws, options, report, ex);
  reportExchange(ex, options, report);
  if (v.done) return v;
  if (options.hold.count() > 0) {
    v = hold(ws, options, report, ex);
    if (v.done) return v;
  }
  v = closeHandshake(ws, options, report);
  if (v.done) return v;
  std::string diagnosis =
      "upgraded, " + std::to_string(ex.echoed) + "/" + std::to_string(ex.sent) + " messages echoed";
  if (!ex.rtts.empty()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ", ping rtt avg %.3f ms",
                  std::accumulate(ex.rtts.begin(), ex.rtts.end(), 0.0) / ex.rtts.size());
    diagnosis += buf;
  }
  if (options.hold.count() > 0) diagnosis += ", held " + seconds(options.hold.count() / 1000.0);
  return Verdict::fail(kExitHealthy, diagnosis + ", closed cleanly with 1000");
}

} // namespace wsgate::probe
