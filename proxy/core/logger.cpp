#include "proxy/core/logger.h"

#include <unistd.h>

namespace wsgate::proxy {

namespace {

log::Level toLevel(config::LogLevel level) {
  switch (level) {
  case config::LogLevel::Error:
    return log::Level::Error;
  case config::LogLevel::Warn:
    return log::Level::Warn;
  case config::LogLevel::Info:
    return log::Level::Info;
  case config::LogLevel::Debug:
    return log::Level::Debug;
  }
  return log::Level::Info;
}

// The format of lines written to `fd` (-1: a file, never a terminal).
log::LogLine::Format formatFor(config::LogFormat format, int fd) {
  switch (format) {
  case config::LogFormat::Json:
    return log::LogLine::Format::Json;
  case config::LogFormat::Text:
    return log::LogLine::Format::Text;
  case config::LogFormat::Auto:
    return fd >= 0 && ::isatty(fd) == 1 ? log::LogLine::Format::Text : log::LogLine::Format::Json;
  }
  return log::LogLine::Format::Json;
}

int accessFd(config::AccessLogTarget target) {
  switch (target) {
  case config::AccessLogTarget::Stderr:
    return STDERR_FILENO;
  case config::AccessLogTarget::Stdout:
    return STDOUT_FILENO;
  case config::AccessLogTarget::Off:
  case config::AccessLogTarget::File:
    return -1;
  }
  return -1;
}

void writeAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return; // a closed stderr loses the line, never the process
    done += static_cast<std::size_t>(n);
  }
}

} // namespace

Logger& Logger::instance() {
  static Logger logger;
  return logger;
}

void Logger::configure(const config::Log& log) {
  std::lock_guard lock(mutex_);
  level_ = toLevel(log.level);
  format_ = formatFor(log.format, STDERR_FILENO);
  access_format_ = formatFor(log.format, accessFd(log.access_log));
  if (access_target_ != log.access_log || access_path_ != log.access_log_path) reopen_ = true;
  access_target_ = log.access_log;
  access_path_ = log.access_log_path;
}

void Logger::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Logger::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::unique_lock lock(mutex_);
  flushLocked(lock); // lines queued without a running writer
  if (access_file_ != nullptr) {
    std::fclose(access_file_);
    access_file_ = nullptr;
  }
}

void Logger::reopen() {
  {
    std::lock_guard lock(mutex_);
    reopen_ = true;
  }
  wake_.notify_one();
}

void Logger::write(const std::string& text) {
  enqueue(error_queue_, text);
}

void Logger::writeAccess(const std::string& text) {
  // A line queued just before a reload turns the access log off is dropped by flushLocked().
  if (!accessEnabled()) return;
  enqueue(access_queue_, text);
}

void Logger::enqueue(std::string& queue, const std::string& text) {
  {
    std::lock_guard lock(mutex_);
    queue.append(text);
  }
  if (!thread_.joinable()) {
    std::unique_lock lock(mutex_);
    flushLocked(lock);
    return;
  }
  wake_.notify_one();
}

void Logger::flushLocked(std::unique_lock<std::mutex>& lock) {
  std::string errors;
  std::string access;
  errors.swap(error_queue_);
  access.swap(access_queue_);
  const bool reopen = reopen_;
  reopen_ = false;
  const config::AccessLogTarget target = access_target_;
  const std::string path = access_path_;
  lock.unlock();
  if (reopen || (target == config::AccessLogTarget::File && access_file_ == nullptr)) {
    if (access_file_ != nullptr) std::fclose(access_file_);
    access_file_ =
        target == config::AccessLogTarget::File ? std::fopen(path.c_str(), "a") : nullptr;
  }
  if (!errors.empty()) writeAll(STDERR_FILENO, errors);
  if (!access.empty()) writeAccessText(target, access);
  lock.lock();
}

void Logger::writeAccessText(config::AccessLogTarget target, const std::string& text) {
  if (target == config::AccessLogTarget::File) {
    if (access_file_ == nullptr) return;
    std::fwrite(text.data(), 1, text.size(), access_file_);
    std::fflush(access_file_);
  } else if (const int fd = accessFd(target); fd >= 0) {
    writeAll(fd, text); // stderr or stdout; nothing when the access log is off
  }
}

void Logger::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] {
      return stopping_ || reopen_ || !error_queue_.empty() || !access_queue_.empty();
    });
    flushLocked(lock);
    if (stopping_ && error_queue_.empty() && access_queue_.empty()) break;
  }
}

void logText(log::Level level, std::string_view event, std::string_view message) {
  Logger& logger = Logger::instance();
  if (!logger.enabled(level)) return;
  logger.write(logger.line(level, event).str("message", message).finish());
}

} // namespace wsgate::proxy
