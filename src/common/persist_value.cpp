#include "common/persist_value.hpp"

#include <charconv>

namespace acmednsd {
namespace {

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}
bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
// RFC 8659 value = *(%x21-3A / %x3C-7E): visible ASCII except ";".
bool is_value_char(char c) {
  return (c >= 0x21 && c <= 0x3A) || (c >= 0x3C && c <= 0x7E);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_wsp(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_wsp(text.back())) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// RFC 8659: label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT) ); also the tag grammar.
bool is_label(std::string_view text) {
  return !text.empty() && text.size() <= 63 && is_alnum(text.front()) && is_alnum(text.back()) &&
         text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") ==
             std::string_view::npos;
}

bool is_domain(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  for (std::size_t start = 0;;) {
    const std::size_t dot = text.find('.', start);
    if (!is_label(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// RFC 3986 scheme ":" ...: enough to refuse a bare account number or a path.
bool has_uri_scheme(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return false;
  const std::string_view scheme = text.substr(0, colon);
  if (!(scheme.front() >= 'a' && scheme.front() <= 'z') &&
      !(scheme.front() >= 'A' && scheme.front() <= 'Z')) {
    return false;
  }
  return scheme.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") ==
         std::string_view::npos;
}

Error bad(const std::string& why) {
  return make_error("persist_value", why);
}

}  // namespace

Result<PersistValue> parse_persist_value(std::string_view text) {
  if (text.size() > kMaxPersistValueLength) {
    return bad("longer than " + std::to_string(kMaxPersistValueLength) + " characters");
  }
  for (const char c : text) {
    if (!is_wsp(c) && (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E)) {
      return bad("contains a control or non-ASCII character");
    }
  }
  PersistValue out;
  const std::size_t first = text.find(';');
  const std::string_view issuer = trim(text.substr(0, first));
  if (issuer.empty()) return bad("has no issuer-domain-name before the first \";\"");
  if (!is_domain(issuer))
    return bad("issuer-domain-name \"" + std::string(issuer) + "\" is not a domain name");
  out.issuer = lower(issuer);
  std::vector<std::string> seen;
  std::string_view rest = first == std::string_view::npos ? std::string_view() : text.substr(first + 1);
  while (first != std::string_view::npos) {
    const std::size_t next = rest.find(';');
    const std::string_view parameter = trim(rest.substr(0, next));
    if (parameter.empty()) return bad("has an empty parameter (\";;\" or a trailing \";\")");
    const std::size_t equals = parameter.find('=');
    if (equals == std::string_view::npos) {
      return bad("parameter \"" + std::string(parameter) + "\" is not tag=value");
    }
    const std::string_view tag = trim(parameter.substr(0, equals));
    const std::string_view value = trim(parameter.substr(equals + 1));
    if (!is_label(tag))
      return bad("tag \"" + std::string(tag) + "\" is not a tag (letters, digits, inner -)");
    for (const char c : value) {
      if (!is_value_char(c)) return bad("value of " + std::string(tag) + " contains a space or \";\"");
    }
    const std::string key = lower(tag);
    for (const auto& earlier : seen) {
      if (earlier == key) return bad("tag " + std::string(tag) + " appears twice");
    }
    seen.push_back(key);
    if (key == "accounturi") {
      if (!has_uri_scheme(value)) return bad("accounturi \"" + std::string(value) + "\" is not a URI");
      out.account_uri = std::string(value);
    } else if (key == "policy") {
      if (lower(value) != "wildcard") return bad("policy \"" + std::string(value) + "\" is not \"wildcard\"");
      out.wildcard = true;
    } else if (key == "persistuntil") {
      std::int64_t seconds = 0;
      const auto parsed = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (value.empty() || value.front() == '-' || parsed.ec != std::errc() ||
          parsed.ptr != value.data() + value.size()) {
        return bad("persistUntil \"" + std::string(value) + "\" is not unix seconds");
      }
      out.persist_until = seconds;
    } else {
      out.extra.emplace_back(std::string(tag), std::string(value));
    }
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  if (out.account_uri.empty()) return bad("has no accounturi parameter");
  return out;
}

std::string format_persist_value(const PersistValue& value) {
  std::string out = value.issuer + "; accounturi=" + value.account_uri;
  if (value.wildcard) out += "; policy=wildcard";
  if (value.persist_until) out += "; persistUntil=" + std::to_string(*value.persist_until);
  for (const auto& [tag, text] : value.extra) {
    out += "; ";
    out += tag;
    out += '=';
    out += text;
  }
  return out;
}

bool persist_value_current(const PersistValue& value, std::int64_t now) {
  return !value.persist_until || *value.persist_until >= now;
}

}  // namespace acmednsd
