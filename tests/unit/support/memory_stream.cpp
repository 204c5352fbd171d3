#include "tests/unit/support/memory_stream.h"

#include "proxy/transport/address.h"

#include <algorithm>

namespace wsgate::proxy::test {

std::size_t MemoryLoop::run(std::size_t limit) {
  std::size_t ran = 0;
  while (!pending_.empty() && ran < limit) {
    std::function<void()> callback = std::move(pending_.front());
    pending_.pop_front();
    callback();
    ++ran;
  }
  return ran;
}

MemoryStream::MemoryStream(MemoryLoop& loop, BufferPool& pool, StreamEvents& events,
                           std::shared_ptr<StreamRecord> record)
    : loop_(loop), pool_(pool), events_(events), record_(std::move(record)) {
  record_->stream = this;
}

MemoryStream::~MemoryStream() {
  record_->stream = nullptr;
  record_->destroyed = true;
  if (!record_->closed) record_->destroyed_unclosed = true;
  cancelWrites();
}

int MemoryStream::accept(const AcceptedSocket&) {
  return record_->accept_status;
}

int MemoryStream::connect(const sockaddr* address) {
  record_->connect_address = formatSockaddr(address);
  if (record_->connect_status != 0) return record_->connect_status;
  connecting_ = true;
  return 0;
}

void MemoryStream::completeConnect(int status) {
  if (!connecting_ || closing_) return; // closed while connecting: libuv reports UV_ECANCELED
  connecting_ = false;
  events_.onStreamConnect(*this, status);
}

void MemoryStream::setNoDelay() {
  record_->no_delay = true;
}

int MemoryStream::startRead() {
  if (reading_ || closing_) return 0;
  reading_ = true;
  ++record_->start_reads;
  // libuv reports bytes already waiting on the loop's next iteration, not inside this call.
  if (!inbound_.empty() || (end_status_ != 0 && !ended_)) scheduleDelivery();
  return 0;
}

void MemoryStream::stopRead() {
  if (!reading_) return;
  reading_ = false;
  ++record_->stop_reads;
}

void MemoryStream::scheduleDelivery() {
  if (delivery_posted_) return;
  delivery_posted_ = true;
  std::weak_ptr<StreamRecord> weak = record_;
  loop_.post([weak] {
    const auto record = weak.lock();
    if (!record || record->stream == nullptr) return;
    record->stream->delivery_posted_ = false;
    record->stream->deliverInbound();
  });
}

void MemoryStream::peerSends(std::span<const uint8_t> bytes) {
  inbound_.insert(inbound_.end(), bytes.begin(), bytes.end());
  deliverInbound();
}

void MemoryStream::peerEnds(int status) {
  if (end_status_ == 0) end_status_ = status;
  deliverInbound();
}

// One read per block, as TcpStream: the block is the stream's until the callback returns.
void MemoryStream::deliverInbound() {
  if (delivering_) return; // a callback of this loop asked again: the loop goes on
  delivering_ = true;
  while (reading_ && !closing_ && !inbound_.empty()) {
    const std::size_t n = std::min({inbound_.size(), read_chunk_, kBlockSize});
    Block* block = pool_.acquire();
    std::copy_n(inbound_.begin(), n, block->data.begin());
    inbound_.erase(inbound_.begin(), inbound_.begin() + static_cast<std::ptrdiff_t>(n));
    events_.onStreamData(*this, block, n);
    pool_.release(block);
  }
  delivering_ = false;
  if (reading_ && !closing_ && inbound_.empty() && end_status_ != 0 && !ended_) {
    ended_ = true;
    stopRead();
    events_.onStreamEnd(*this, end_status_);
  }
}

int MemoryStream::write(Block* block, const uv_buf_t* bufs, unsigned count) {
  if (closing_) return UV_EPIPE;
  if (shutdown_) {
    ++record_->writes_after_shutdown;
    return UV_EPIPE;
  }
  std::size_t total = 0;
  for (unsigned i = 0; i < count; ++i)
    total += bufs[i].len;
  bytes_written_ += total;
  if (peer_reading_ && queue_.empty()) {
    for (unsigned i = 0; i < count; ++i) {
      const auto* data = reinterpret_cast<const uint8_t*>(bufs[i].base);
      record_->delivered.insert(record_->delivered.end(), data, data + bufs[i].len);
    }
    return 0;
  }
  QueuedWrite queued;
  for (unsigned i = 0; i < count; ++i) {
    const auto* data = reinterpret_cast<const uint8_t*>(bufs[i].base);
    queued.bytes.insert(queued.bytes.end(), data, data + bufs[i].len);
  }
  if (block != nullptr) {
    BufferPool::ref(block);
    queued.block = block;
  }
  queued_bytes_ += total;
  queue_.push_back(std::move(queued));
  return 0;
}

int MemoryStream::writeBlock(Block* block, const uv_buf_t* bufs, unsigned count) {
  return write(block, bufs, count);
}

int MemoryStream::writeCopy(std::span<const uint8_t> bytes) {
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(bytes.data())),
                             static_cast<unsigned>(bytes.size()));
  return write(nullptr, &buf, 1);
}

void MemoryStream::peerReads(std::size_t max) {
  while (!closing_ && !queue_.empty() && max > 0) {
    QueuedWrite& front = queue_.front();
    const std::size_t n = std::min(max, front.bytes.size() - front.done);
    const auto from = front.bytes.begin() + static_cast<std::ptrdiff_t>(front.done);
    record_->delivered.insert(record_->delivered.end(), from,
                              from + static_cast<std::ptrdiff_t>(n));
    front.done += n;
    queued_bytes_ -= n;
    max -= n;
    if (front.done < front.bytes.size()) return;
    if (front.block != nullptr) pool_.release(front.block);
    queue_.pop_front();
    if (queue_.empty() && shutdown_) record_->fin_sent = true;
    events_.onStreamDrained(*this); // may close this stream (the close callback comes later)
  }
}

void MemoryStream::shutdownWrite() {
  if (closing_ || shutdown_) return;
  shutdown_ = true;
  if (queue_.empty()) record_->fin_sent = true;
}

void MemoryStream::cancelWrites() {
  for (QueuedWrite& queued : queue_) {
    record_->bytes_cancelled += queued.bytes.size() - queued.done;
    if (queued.block != nullptr) pool_.release(queued.block);
  }
  queue_.clear();
  queued_bytes_ = 0;
}

void MemoryStream::close() {
  ++record_->close_calls;
  if (closing_) return;
  closing_ = true;
  reading_ = false;
  connecting_ = false;
  std::weak_ptr<StreamRecord> weak = record_;
  loop_.post([weak] {
    const auto record = weak.lock();
    if (record && record->stream != nullptr) record->stream->onClosed();
  });
}

void MemoryStream::onClosed() {
  cancelWrites(); // libuv cancels queued writes before the close callback
  record_->closed = true;
  events_.onStreamClosed(*this); // the owner may delete this stream now
}

std::unique_ptr<MemoryStream> MemoryStreams::make(StreamEvents& events, std::string name) {
  auto record = std::make_shared<StreamRecord>();
  record->name = std::move(name);
  records_.push_back(record);
  return std::make_unique<MemoryStream>(loop_, pool_, events, std::move(record));
}

std::shared_ptr<StreamRecord> MemoryStreams::find(std::string_view name) const {
  std::shared_ptr<StreamRecord> last;
  for (const auto& record : records_) {
    if (record->name == name) last = record;
  }
  return last;
}

std::string MemoryStreams::whyNotAllClosed() const {
  std::string why;
  for (const auto& record : records_) {
    if (!record->closed) why += record->name + " not closed; ";
    if (!record->destroyed) why += record->name + " not destroyed; ";
    if (record->destroyed_unclosed) why += record->name + " destroyed before its close; ";
  }
  return why;
}

} // namespace wsgate::proxy::test
