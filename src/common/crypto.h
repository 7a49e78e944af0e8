// Hashes, MACs and encodings (OpenSSL underneath): the object-store clients sign requests with
// them, the audit trail chains with them, MCP headers carry values in base64.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace supertable {

std::string Sha256(std::string_view data);  // raw 32 bytes
std::string Sha256Hex(std::string_view data);
// The hex SHA-256 of a file's bytes, read a piece at a time; "" when it cannot be read.
std::string Sha256FileHex(const std::string& path);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string Md5(std::string_view data);                               // raw 16 bytes
std::string HexEncode(std::string_view bytes);
std::string Base64Encode(std::string_view bytes);
// Returns false when `text` is not valid base64.
bool Base64Decode(std::string_view text, std::string* out);
// base64url (RFC 4648 section 5) without padding: JWTs, cookies, cursors.
std::string EncodeBase64Url(std::string_view bytes);
// Strict base64url, no padding: nullopt on any character outside the alphabet, a length that no
// encoding has, or non-zero unused bits (so each value has one spelling).
std::optional<std::string> DecodeBase64Url(std::string_view text);

}  // namespace supertable
