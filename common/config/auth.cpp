// The [auth.NAME] tables (CONFIG.md "Additions").
#include "common/auth/keys.h"
#include "common/auth/token_source.h"
#include "common/config/loader.h"
#include "common/http/headers.h"

namespace wsgate::config::detail {
namespace {

// Headers wsgate writes itself or that carry the handshake: a claim cannot be forwarded in them.
bool reservedHeader(std::string_view name) {
  static constexpr std::string_view kReserved[] = {"host",
                                                   "upgrade",
                                                   "connection",
                                                   "content-length",
                                                   "transfer-encoding",
                                                   "x-forwarded-for",
                                                   "x-forwarded-proto",
                                                   "x-forwarded-host"};
  for (const std::string_view reserved : kReserved) {
    if (http::equalsIgnoreCase(name, reserved)) return true;
  }
  return name.size() >= 14 && http::equalsIgnoreCase(name.substr(0, 14), "sec-websocket-");
}

// Reads a non-empty array of strings, each checked by `valid` (which returns an error or "");
// `out` is set only when every element is good.
template <typename Valid>
void readStrings(TableReader& in, std::string_view key, std::vector<std::string>& out,
                 Valid&& valid) {
  std::vector<std::string> values;
  const bool good = in.readStringArray(key, ArrayErrors::Stop, [&](const std::string& text) {
    std::string problem = valid(text);
    if (problem.empty()) values.push_back(text);
    return problem;
  });
  if (!good) return;
  if (values.empty()) {
    in.error(*in.get(key), key, "must not be empty");
    return;
  }
  out = std::move(values);
}

std::string checkSource(const std::string& text) {
  if (auth::parseTokenSource(text)) return "";
  return "invalid token source \"" + text +
         "\"; expected \"header:NAME\", \"query:NAME\", \"cookie:NAME\" or \"subprotocol\"";
}

std::string checkAlgorithm(const std::string& text) {
  if (text == "none" || text == "None" || text == "NONE") {
    return "\"none\" (unsigned tokens) is never accepted";
  }
  if (auth::parseAlgorithm(text)) return "";
  return "unsupported algorithm \"" + text +
         "\"; expected HS256, HS384, HS512, RS256, RS384, RS512, PS256, ES256, ES384 or EdDSA";
}

void readForwardClaims(TableReader& in, Auth& auth) {
  const toml::table* table = in.getTable("forward_claims");
  if (table == nullptr) return;
  const std::string path = in.pathOf("forward_claims");
  for (const auto& [claim, node] : *table) {
    const std::string where = childPath(path, claim.str());
    const auto* header = node.as_string();
    if (header == nullptr) {
      in.errors().add(node.source(), where,
                      "expected a header name (a string), got " + std::string(describeType(node)));
      continue;
    }
    const std::string& name = header->get();
    if (!http::isToken(name) || reservedHeader(name)) {
      in.errors().add(node.source(), where,
                      "\"" + name + "\" is not a header name a claim may be forwarded in");
      continue;
    }
    for (const auto& existing : auth.forward_claims) {
      if (http::equalsIgnoreCase(existing.second, name)) {
        in.errors().add(node.source(), where, "header \"" + name + "\" is used twice");
      }
    }
    auth.forward_claims.emplace_back(std::string(claim.str()), name);
  }
}

void checkType(TableReader& in, const Auth& auth) {
  const toml::node* at = in.get("type");
  const toml::node& where = at != nullptr ? *at : static_cast<const toml::node&>(in.table());
  if (auth.type == AuthType::Jwt) {
    if (auth.algorithms.empty() && in.get("algorithms") == nullptr) {
      in.error(where, "algorithms", "type \"jwt\" needs algorithms (for example [\"RS256\"])");
    }
    if (auth.keys.empty()) in.error(where, "keys", "type \"jwt\" needs keys (a file)");
    if (!auth.tokens_file.empty()) {
      in.error(*in.get("tokens_file"), "tokens_file", "only type \"bearer\" reads tokens_file");
    }
  } else {
    if (auth.tokens_file.empty()) {
      in.error(where, "tokens_file", "type \"bearer\" needs tokens_file");
    }
    for (const char* key : {"algorithms", "keys", "issuer", "audience", "forward_claims"}) {
      if (const toml::node* node = in.get(key)) {
        in.error(*node, key, "only type \"jwt\" uses " + std::string(key));
      }
    }
  }
}

void readOne(TableReader& in, Auth& auth) {
  in.readEnum("type", auth.type, {{"jwt", AuthType::Jwt}, {"bearer", AuthType::Bearer}});
  readStrings(in, "token_from", auth.token_from, checkSource);
  readStrings(in, "algorithms", auth.algorithms, checkAlgorithm);
  in.readString("keys", auth.keys);
  in.readString("issuer", auth.issuer);
  in.readString("audience", auth.audience);
  in.readDuration("leeway", auth.leeway, DurationRule::ZeroAllowed);
  in.readEnum("expiry", auth.expiry,
              {{"close", TokenExpiry::Close}, {"ignore", TokenExpiry::Ignore}});
  readForwardClaims(in, auth);
  in.readString("tokens_file", auth.tokens_file);
  checkType(in, auth);
}

} // namespace

void readAuth(TableReader& root, Config& config) {
  root.readNamedTables("auth", "an auth", [&](std::string name, TableReader& in) {
    Auth auth;
    readOne(in, auth);
    config.auth.emplace(std::move(name), std::move(auth));
  });
}

} // namespace wsgate::config::detail
