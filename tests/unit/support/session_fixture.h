#pragma once

// The base of the session tests: a FakeHost with one listener, one pool ("p", one backend at
// 127.0.0.1:9001) and one route, the peers' bytes on MemoryStreams, the access log in a file.
// Every test ends with FakeHost::leftovers() empty: the session deleted, every stream closed,
// no timer armed, every block back in the pool.
#include "tests/unit/support/fake_host.h"
#include "tests/unit/support/ws_bytes.h"

#include <gtest/gtest.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace wsgate::proxy::test {

inline std::span<const uint8_t> asBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

class SessionFixture : public ::testing::Test {
protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the host with `policy_keys` (TOML lines) in [policies.default]. Heartbeats, idle
  // timeout and lifetime are off unless set here.
  void start(std::string_view policy_keys = "");
  // The client connects and sends its upgrade request for `path`; the session connects to
  // the backend.
  void request(std::string_view path = "/chat");
  // The backend's connect completes and it answers the forwarded request with a real 101:
  // the session is open.
  void answer();
  // start() + request() + answer().
  void open(std::string_view policy_keys = "", std::string_view path = "/chat");

  MemoryStream& client();
  MemoryStream& backend();
  StreamRecord& clientRecord() { return *client_; }
  StreamRecord& backendRecord() { return *backend_; }

  // The peer sends, then the loop settles.
  void clientSends(std::span<const uint8_t> bytes);
  void backendSends(std::span<const uint8_t> bytes);
  void clientSends(std::string_view text) { clientSends(asBytes(text)); }
  void backendSends(std::string_view text) { backendSends(asBytes(text)); }
  void clientEnds(int status);
  void backendEnds(int status);

  // What each peer received after the handshake, as frames.
  Decoded toClient() const;
  Decoded toBackend() const;
  std::string clientSaw() const { return describe(toClient().frames); }
  std::string backendSaw() const { return describe(toBackend().frames); }
  // Bytes of frames each peer received after the handshake.
  std::size_t bytesToClient() const;
  std::size_t bytesToBackend() const;

  bool ended() const { return host_->sessionsEnded() == 1 && host_->session() == nullptr; }
  // The session's access-log line (after it ended).
  nlohmann::json accessLog() const;

  FakeHost& host() { return *host_; }

  std::unique_ptr<FakeHost> host_;
  std::shared_ptr<StreamRecord> client_;
  std::shared_ptr<StreamRecord> backend_;
  std::size_t response_bytes_ = 0; // the 101 as the client received it
  std::size_t request_bytes_ = 0;  // the request as the backend received it
  std::string access_log_path_;
};

} // namespace wsgate::proxy::test
