#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace wsgate::bench {

// `size` bytes of JSON-like records ({"id":..,"user":"..","price":..,"tag":".."},) with
// pseudo-random numbers and words: text that DEFLATE shrinks about 5x, like real JSON traffic.
std::vector<uint8_t> makeJsonPayload(uint64_t size);

// A permessage-deflate message body (RFC 7692 section 7.2.1): `message` raw-deflated on its own
// (no earlier context), flushed, with the 0x00 0x00 0xff 0xff tail removed.
std::vector<uint8_t> deflateMessage(std::span<const uint8_t> message);

} // namespace wsgate::bench
