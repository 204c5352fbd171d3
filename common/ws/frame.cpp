#include "common/ws/frame.h"

namespace wsgate::ws {

const char* opcodeName(Opcode op) {
  switch (op) {
  case Opcode::Continuation:
    return "continuation";
  case Opcode::Text:
    return "text";
  case Opcode::Binary:
    return "binary";
  case Opcode::Close:
    return "close";
  case Opcode::Ping:
    return "ping";
  case Opcode::Pong:
    return "pong";
  }
  return "reserved";
}

} // namespace wsgate::ws
