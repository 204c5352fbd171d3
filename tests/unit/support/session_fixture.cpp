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
ping_interval = "0s"
idle_timeout = "0s"
max_session_lifetime = "0s"
)toml";

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
  const std::string text = std::string(kConfigHead) + std::string(policy_keys) + "\n";
  const config::LoadResult loaded = config::loadConfigString(text, "session_test.toml");
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : config::formatError(loaded.errors[0]));
  host_ = std::make_unique<FakeHost>(loaded.config);
}

void SessionFixture::request(std::string_view path) {
  host_->startSession();
  client_ = host_->streams().find("client");
  ASSERT_NE(client_, nullptr);
  clientSends(std::string_view(upgradeRequest(path)));
  backend_ = host_->streams().find("backend");
  ASSERT_NE(backend_, nullptr) << "the session made no backend stream";
  ASSERT_EQ(backend_->connect_address, "127.0.0.1:9001");
}

void SessionFixture::answer() {
  backend().completeConnect(0);
  host_->settle();
  const std::string forwarded(backendRecord().deliveredText());
  ASSERT_TRUE(forwarded.ends_with("\r\n\r\n")) << forwarded;
  request_bytes_ = forwarded.size();
  const std::string key = keyOfRequest(forwarded);
  ASSERT_EQ(key, kClientKey);
  backendSends(std::string_view(backend101(key)));
  const std::string_view response = clientRecord().deliveredText();
  ASSERT_TRUE(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n")) << response;
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
