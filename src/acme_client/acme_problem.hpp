// RFC 8555 section 6.7 problem documents (RFC 7807) and the error types the client
// reacts to. Errors the client returns carry the problem type as Error::code and the
// CA's own detail in Error::message.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace acmednsd::acme::problem {

inline constexpr std::string_view kPrefix = "urn:ietf:params:acme:error:";
inline constexpr std::string_view kAccountDoesNotExist = "urn:ietf:params:acme:error:accountDoesNotExist";
inline constexpr std::string_view kAlreadyReplaced = "urn:ietf:params:acme:error:alreadyReplaced";
inline constexpr std::string_view kAlreadyRevoked = "urn:ietf:params:acme:error:alreadyRevoked";
inline constexpr std::string_view kBadCsr = "urn:ietf:params:acme:error:badCSR";
inline constexpr std::string_view kBadNonce = "urn:ietf:params:acme:error:badNonce";
inline constexpr std::string_view kBadPublicKey = "urn:ietf:params:acme:error:badPublicKey";
inline constexpr std::string_view kBadRevocationReason = "urn:ietf:params:acme:error:badRevocationReason";
inline constexpr std::string_view kBadSignatureAlgorithm = "urn:ietf:params:acme:error:badSignatureAlgorithm";
inline constexpr std::string_view kCaa = "urn:ietf:params:acme:error:caa";
inline constexpr std::string_view kCompound = "urn:ietf:params:acme:error:compound";
inline constexpr std::string_view kConnection = "urn:ietf:params:acme:error:connection";
inline constexpr std::string_view kDns = "urn:ietf:params:acme:error:dns";
inline constexpr std::string_view kExternalAccountRequired =
    "urn:ietf:params:acme:error:externalAccountRequired";
inline constexpr std::string_view kInvalidProfile = "urn:ietf:params:acme:error:invalidProfile";
inline constexpr std::string_view kIncorrectResponse = "urn:ietf:params:acme:error:incorrectResponse";
inline constexpr std::string_view kInvalidContact = "urn:ietf:params:acme:error:invalidContact";
inline constexpr std::string_view kMalformed = "urn:ietf:params:acme:error:malformed";
inline constexpr std::string_view kOrderNotReady = "urn:ietf:params:acme:error:orderNotReady";
inline constexpr std::string_view kRateLimited = "urn:ietf:params:acme:error:rateLimited";
inline constexpr std::string_view kRejectedIdentifier = "urn:ietf:params:acme:error:rejectedIdentifier";
inline constexpr std::string_view kServerInternal = "urn:ietf:params:acme:error:serverInternal";
inline constexpr std::string_view kTls = "urn:ietf:params:acme:error:tls";
inline constexpr std::string_view kUnauthorized = "urn:ietf:params:acme:error:unauthorized";
inline constexpr std::string_view kUnsupportedContact = "urn:ietf:params:acme:error:unsupportedContact";
inline constexpr std::string_view kUnsupportedIdentifier = "urn:ietf:params:acme:error:unsupportedIdentifier";
inline constexpr std::string_view kUserActionRequired = "urn:ietf:params:acme:error:userActionRequired";

// A string member, or `fallback` when absent or of another type: documents come from the
// network, and nlohmann's value() throws on a type mismatch.
inline std::string string_member(const nlohmann::json& object, std::string_view key,
                                 std::string fallback = {}) {
  if (!object.is_object()) return fallback;
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// "rejectedIdentifier: <detail>; <identifier>: <sub-problem detail>" from a problem document.
inline std::string describe(const nlohmann::json& document) {
  std::string type = string_member(document, "type", "about:blank");
  if (type.starts_with(kPrefix)) type = type.substr(kPrefix.size());
  std::string text = type + ": " + string_member(document, "detail", "(no detail)");
  if (const auto it = document.find("subproblems"); it != document.end() && it->is_array()) {
    for (const auto& sub : *it) {
      if (!sub.is_object()) continue;
      text += "; ";
      if (const auto id = sub.find("identifier"); id != sub.end() && id->is_object()) {
        text += string_member(*id, "value") + ": ";
      }
      text += string_member(sub, "detail");
    }
  }
  return text;
}

}  // namespace acmednsd::acme::problem
