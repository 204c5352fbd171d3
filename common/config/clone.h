#pragma once

#include "common/config/config.h"

#include <memory>
#include <string_view>
#include <vector>

namespace wsgate::config {

// A copy of `config` whose pool `pool` has `backends` instead (DNS discovery swaps these in
// like a reload). Route::policy_ptr points into the copy's own policies.
std::shared_ptr<const Config> withBackends(const Config& config, std::string_view pool,
                                           std::vector<Backend> backends);

} // namespace wsgate::config
