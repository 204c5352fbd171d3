#pragma once

#include "common/config/config.h"
#include "common/log/log_line.h"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace wsgate::proxy {

// Process-wide logging. Workers format a line and hand it over; one background thread writes
// it, so an event loop never waits on a slow terminal, pipe or disk. Error-log lines go to
// stderr, access-log lines to the configured target. With format "auto" each stream is text
// when its descriptor is a terminal and JSON otherwise (an access log file is always JSON).
class Logger {
public:
  static Logger& instance();

  // Applies [log]; may be called again on reload (reopens the access log file).
  void configure(const config::Log& log);
  void start();
  // Writes everything queued and stops the writer thread.
  void stop();
  // SIGUSR1: reopen the access log file (after rotation).
  void reopen();

  bool enabled(log::Level level) const { return level <= level_.load(std::memory_order_relaxed); }
  log::LogLine line(log::Level level, std::string_view event) const {
    return log::LogLine(format_.load(std::memory_order_relaxed), event, log::levelName(level));
  }
  log::LogLine accessLine() const {
    return log::LogLine(access_format_.load(std::memory_order_relaxed), "access");
  }
  void write(const std::string& text);
  void writeAccess(const std::string& text);
  bool accessEnabled() const {
    return access_target_.load(std::memory_order_relaxed) != config::AccessLogTarget::Off;
  }

private:
  Logger() = default;
  void run();
  // Appends `text` to `queue` (one of the two below) and wakes the writer; without a running
  // writer the line is written at once.
  void enqueue(std::string& queue, const std::string& text);
  void flushLocked(std::unique_lock<std::mutex>& lock);
  // Writer thread (or stop()): access-log lines to `target`.
  void writeAccessText(config::AccessLogTarget target, const std::string& text);

  // Read by every worker, written by configure() (start-up, reload).
  std::atomic<log::Level> level_{log::Level::Info};
  std::atomic<log::LogLine::Format> format_{log::LogLine::Format::Json};        // error log
  std::atomic<log::LogLine::Format> access_format_{log::LogLine::Format::Json}; // access log
  std::atomic<config::AccessLogTarget> access_target_{config::AccessLogTarget::Stderr};
  std::string access_path_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::string error_queue_;
  std::string access_queue_;
  bool stopping_ = false;
  bool reopen_ = false;
  std::FILE* access_file_ = nullptr;
  std::thread thread_;
};

// A one-field line: {"event":EVENT,"message":MESSAGE}.
void logText(log::Level level, std::string_view event, std::string_view message);

} // namespace wsgate::proxy
