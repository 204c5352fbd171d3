#pragma once

// The authenticators of every [auth.NAME] table, with their key and token files read. Built
// at start and on every reload, before the configuration that names them is swapped in; a
// file that does not load keeps the running configuration (and its keys).

#include "common/auth/bearer.h"
#include "common/auth/jwt.h"
#include "common/auth/token_source.h"
#include "common/config/config.h"
#include "proxy/policy/token_cache.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wsgate::proxy::policy {

struct Authenticator {
  const config::Auth* config = nullptr; // in the Config the set was built for
  std::vector<auth::TokenSource> sources;
  std::vector<std::string> claim_names; // forward_claims' claims, in order
  std::optional<auth::JwtVerifier> jwt;
  std::optional<auth::BearerTokens> bearer;
  std::unique_ptr<TokenCache> cache; // jwt only: tokens verified with these keys

  // Verifies a JWT through the cache.
  auth::JwtResult verifyJwt(std::string_view token, int64_t now_s) const;
};

struct AuthSet {
  std::map<std::string, Authenticator> by_name;
  const Authenticator* find(const std::string& name) const {
    const auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : &it->second;
  }
};

// Reads every key and tokens file `config` names. nullptr with `error` ("auth.NAME: FILE:
// why") when one does not load. Runs off the worker loops (it reads files).
std::shared_ptr<const AuthSet> buildAuthSet(const config::Config& config, std::string& error);

} // namespace wsgate::proxy::policy
