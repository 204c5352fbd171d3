#include "common/auth/failure.h"

namespace wsgate::auth {

std::string_view label(Failure failure) {
  switch (failure) {
  case Failure::Ok:
    return "ok";
  case Failure::Missing:
    return "missing";
  case Failure::Malformed:
    return "malformed";
  case Failure::AlgorithmNotAllowed:
    return "algorithm_not_allowed";
  case Failure::UnknownKid:
    return "unknown_kid";
  case Failure::BadSignature:
    return "bad_signature";
  case Failure::Expired:
    return "expired";
  case Failure::NotYetValid:
    return "not_yet_valid";
  case Failure::WrongIssuer:
    return "wrong_issuer";
  case Failure::WrongAudience:
    return "wrong_audience";
  case Failure::UnknownToken:
    return "unknown_token";
  }
  return "malformed";
}

std::string_view describe(Failure failure) {
  switch (failure) {
  case Failure::Ok:
    return "token accepted";
  case Failure::Missing:
    return "token missing";
  case Failure::Malformed:
    return "token malformed";
  case Failure::AlgorithmNotAllowed:
    return "token algorithm not allowed";
  case Failure::UnknownKid:
    return "token key id (kid) unknown";
  case Failure::BadSignature:
    return "token signature invalid";
  case Failure::Expired:
    return "token expired";
  case Failure::NotYetValid:
    return "token not yet valid";
  case Failure::WrongIssuer:
    return "token issuer not accepted";
  case Failure::WrongAudience:
    return "token audience not accepted";
  case Failure::UnknownToken:
    return "token unknown";
  }
  return "token malformed";
}

} // namespace wsgate::auth
