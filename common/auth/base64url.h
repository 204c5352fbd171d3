#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wsgate::auth {

// Decodes unpadded base64url (RFC 4648 section 5, as JOSE uses it). nullopt for any byte
// outside the alphabet, for padding, and for a length that no encoding produces (4n+1) or
// whose last character carries non-zero unused bits (a canonical encoding only).
std::optional<std::string> decodeBase64Url(std::string_view text);

// Encodes without padding (tests and the JWKS loader's inverse checks).
std::string encodeBase64Url(std::string_view bytes);

} // namespace wsgate::auth
