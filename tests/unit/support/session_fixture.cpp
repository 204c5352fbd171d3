#include "tests/unit/support/session_fixture.h"

#include "common/config/config.h"
#include "proxy/core/logger.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace wsgate::proxy::test {

namespace {

constexpr std::string_view kConfigHead = R"toml(
[[listeners]]
name = "public"
listen = "127.0.0.1:8080"
[[routes]]
listener = "public"
pool = "p"
[[pools]]
name = "p"
backends = ["127.0.0.1:9001"]
[policies.default]
)toml";

// Timers a test does not name are off.
constexpr std::string_view kOffByDefault[] = {"ping_interval", "idle_timeout",
                                              "max_session_lifetime"};

// A helper's precondition: the test stops here (gtest reports the exception) rather than go on
// with what is missing.
void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

} // namespace

void SessionFixture::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  access_log_path_ = ::testing::TempDir() + "wsgate_access_" + info->test_suite_name() + "_" +
                     info->name() + "_" + std::to_string(::getpid()) + ".log";
  std::remove(access_log_path_.c_str());
  config::Log log;
  log.level = config::LogLevel::Warn;
  log.access_log = config::AccessLogTarget::File;
  log.access_log_path = access_log_path_;
  Logger::instance().configure(log);
}

void SessionFixture::TearDown() {
  if (host_) {
    EXPECT_EQ(host_->leftovers(), "") << "every test ends with all handles closed";
    host_.reset();
  }
  config::Log off;
  off.access_log = config::AccessLogTarget::Off;
  Logger::instance().configure(off);
  std::remove(access_log_path_.c_str());
}

void SessionFixture::start(std::string_view policy_keys) {
  std::string text = std::string(kConfigHead) + std::string(policy_keys) + "\n";
  for (const std::string_view key : kOffByDefault) {
    if (policy_keys.find(std::string(key) + " =") == std::string_view::npos) {
      text += std::string(key) + " = \"0s\"\n";
    }
  }
  const config::LoadResult loaded = config::loadConfigString(text, "session_test.toml");
  require(loaded.ok(), loaded.errors.empty() ? "config" : config::formatError(loaded.errors[0]));
  // A new host, a new access log (the logger appends, so emptying the file is enough).
  std::ofstream(access_log_path_, std::ios::trunc).flush();
  host_ = std::make_unique<FakeHost>(loaded.config);
}

void SessionFixture::request(std::string_view path) {
  host_->startSession();
  client_ = host_->streams().find("client");
  require(client_ != nullptr, "the session made no client stream");
  clientSends(std::string_view(upgradeRequest(path)));
  backend_ = host_->streams().find("backend");
  require(backend_ != nullptr, "the session made no backend stream");
  require(backend_->connect_address == "127.0.0.1:9001", backend_->connect_address);
}

void SessionFixture::answer() {
  backend().completeConnect(0);
  host_->settle();
  const std::string forwarded(backendRecord().deliveredText());
  require(forwarded.ends_with("\r\n\r\n"), "forwarded request: " + forwarded);
  request_bytes_ = forwarded.size();
  const std::string key = keyOfRequest(forwarded);
  require(key == kClientKey, "forwarded key: " + key);
  backendSends(std::string_view(backend101(key)));
  const std::string_view response = clientRecord().deliveredText();
  require(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
          "the client got: " + std::string(response));
  response_bytes_ = response.size();
}

void SessionFixture::open(std::string_view policy_keys, std::string_view path) {
  start(policy_keys);
  request(path);
  answer();
}

MemoryStream& SessionFixture::client() {
  if (client_->stream == nullptr) throw std::logic_error("the client stream is gone");
  return *client_->stream;
}

MemoryStream& SessionFixture::backend() {
  if (backend_->stream == nullptr) throw std::logic_error("the backend stream is gone");
  return *backend_->stream;
}

void SessionFixture::clientSends(std::span<const uint8_t> bytes) {
  client().peerSends(bytes);
  host_->settle();
}

void SessionFixture::backendSends(std::span<const uint8_t> bytes) {
  backend().peerSends(bytes);
  host_->settle();
}

void SessionFixture::clientEnds(int status) {
  client().peerEnds(status);
  host_->settle();
}

void SessionFixture::backendEnds(int status) {
  backend().peerEnds(status);
  host_->settle();
}

Decoded SessionFixture::toClient() const {
  return decodeFramesAfter(client_->delivered, response_bytes_);
}

Decoded SessionFixture::toBackend() const {
  return decodeFramesAfter(backend_->delivered, request_bytes_);
}

std::size_t SessionFixture::bytesToClient() const {
  return client_->delivered.size() - response_bytes_;
}

std::size_t SessionFixture::bytesToBackend() const {
  return backend_->delivered.size() - request_bytes_;
}

nlohmann::json SessionFixture::accessLog() const {
  std::ifstream in(access_log_path_);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  if (last.empty()) return nlohmann::json::object();
  return nlohmann::json::parse(last);
}

} // namespace wsgate::proxy::test
