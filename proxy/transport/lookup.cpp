#include "proxy/transport/lookup.h"

namespace wsgate::proxy {

struct Lookup::Request {
  uv_getaddrinfo_t req{};
  Lookup* holder = nullptr; // nullptr once the owner gave up
  LookupEvents* events = nullptr;

  static void onDone(uv_getaddrinfo_t* req, int status, addrinfo* result) {
    auto* self = static_cast<Request*>(req->data);
    if (self->holder != nullptr) {
      self->holder->request_ = nullptr; // the owner may start another lookup from its callback
      self->events->onLookup(status, status == 0 ? result : nullptr);
    }
    uv_freeaddrinfo(result);
    delete self;
  }
};

int Lookup::start(uv_loop_t* loop, const std::string& host, uint16_t port, LookupEvents& events) {
  reset();
  auto* request = new Request;
  request->req.data = request;
  request->holder = this;
  request->events = &events;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const std::string service = std::to_string(port);
  const int rc =
      uv_getaddrinfo(loop, &request->req, &Request::onDone, host.c_str(), service.c_str(), &hints);
  if (rc != 0) {
    delete request;
    return rc;
  }
  request_ = request;
  return 0;
}

void Lookup::reset() {
  if (request_ == nullptr) return;
  request_->holder = nullptr;
  // Succeeds only while the request still waits for a thread; then the callback comes with
  // UV_ECANCELED. Otherwise the resolver runs on and the callback frees the request.
  uv_cancel(reinterpret_cast<uv_req_t*>(&request_->req));
  request_ = nullptr;
}

} // namespace wsgate::proxy
