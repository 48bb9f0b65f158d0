#include "earshot/crypto/keyring.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include "earshot/crypto/base64.hpp"
#include "sodium_init.hpp"

namespace earshot::crypto {
namespace {

constexpr std::string_view kMagic = "es1";
constexpr std::size_t kMaxKidLen = 32;

bool valid_kid(std::string_view kid) {
  if (kid.empty() || kid.size() > kMaxKidLen) return false;
  for (char c : kid) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

void MasterKeySettings::declare(ConfigSpec& spec) {
  spec.add_string("master_keys", &keys, "", "Master keys for secrets at rest: kid:base64(32 bytes)[,kid:base64...].",
                  {.secret = true});
  spec.add_string("master_key_id", &key_id, "",
                  "Key id (from EARSHOT_MASTER_KEYS) that new secrets are encrypted with.");
}

Result<Keyring> Keyring::parse(std::string_view keys, std::string_view primary_kid) {
  detail::ensure_sodium();
  Keyring ring;
  std::string_view rest = keys;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (item.empty()) continue;
    const auto colon = item.find(':');
    if (colon == std::string_view::npos) {
      return make_error(ErrorCode::kInvalidArgument, "EARSHOT_MASTER_KEYS: each entry must be kid:base64key");
    }
    const std::string_view kid = item.substr(0, colon);
    if (!valid_kid(kid)) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("EARSHOT_MASTER_KEYS: invalid key id '{}' (1-32 of "
                                                                 "[A-Za-z0-9._-])",
                                                                 kid));
    }
    auto key = base64_decode(item.substr(colon + 1));
    if (!key || key->size() != kMasterKeyBytes) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("EARSHOT_MASTER_KEYS: key '{}' must be {} bytes in base64", kid, kMasterKeyBytes));
    }
    if (!ring.keys_.emplace(std::string(kid), std::move(*key)).second) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("EARSHOT_MASTER_KEYS: key id '{}' appears twice", kid));
    }
  }
  if (ring.keys_.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "EARSHOT_MASTER_KEYS: no key configured");
  }
  if (ring.keys_.find(primary_kid) == ring.keys_.end()) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("EARSHOT_MASTER_KEY_ID: '{}' is not in EARSHOT_MASTER_KEYS", primary_kid));
  }
  ring.primary_ = std::string(primary_kid);
  return ring;
}

Result<Keyring> Keyring::from_settings(const MasterKeySettings& settings) {
  return parse(settings.keys, settings.key_id);
}

std::string Keyring::generate_key_base64() {
  detail::ensure_sodium();
  std::string key(kMasterKeyBytes, '\0');
  randombytes_buf(key.data(), key.size());
  std::string out = base64_encode(key);
  sodium_memzero(key.data(), key.size());
  return out;
}

std::string Keyring::encrypt(std::string_view plaintext) const {
  const std::string& key = keys_.find(primary_)->second;
  std::string out;
  out.reserve(kMagic.size() + 1 + primary_.size() + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
              plaintext.size());
  out.append(kMagic);
  out.push_back(static_cast<char>(primary_.size()));
  out.append(primary_);
  const std::size_t nonce_at = out.size();
  out.resize(nonce_at + crypto_secretbox_NONCEBYTES);
  auto* nonce = reinterpret_cast<unsigned char*>(out.data() + nonce_at);
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  const std::size_t ct_at = out.size();
  out.resize(ct_at + crypto_secretbox_MACBYTES + plaintext.size());
  crypto_secretbox_easy(reinterpret_cast<unsigned char*>(out.data() + ct_at),
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                        reinterpret_cast<const unsigned char*>(out.data() + nonce_at),
                        reinterpret_cast<const unsigned char*>(key.data()));
  return out;
}

namespace {

std::string derive_under(const std::string& master, std::string_view label) {
  std::string out(kMasterKeyBytes, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(label.data()), label.size(),
                     reinterpret_cast<const unsigned char*>(master.data()), master.size());
  return out;
}

}  // namespace

std::string Keyring::derive_key(std::string_view label) const {
  detail::ensure_sodium();
  const auto it = keys_.find(primary_);
  if (it == keys_.end()) return {};  // an empty keyring (never one parse() made)
  return derive_under(it->second, label);
}

std::vector<std::string> Keyring::derive_keys(std::string_view label) const {
  detail::ensure_sodium();
  std::vector<std::string> out;
  const auto primary = keys_.find(primary_);
  if (primary == keys_.end()) return out;
  out.push_back(derive_under(primary->second, label));
  for (const auto& [kid, master] : keys_) {
    if (kid != primary_) out.push_back(derive_under(master, label));
  }
  return out;
}

Result<std::string> Keyring::key_id_of(std::string_view sealed) {
  if (sealed.size() < kMagic.size() + 1 || sealed.substr(0, kMagic.size()) != kMagic) {
    return make_error(ErrorCode::kInvalidArgument, "sealed value: unknown format");
  }
  const auto kid_len = static_cast<unsigned char>(sealed[kMagic.size()]);
  if (kid_len == 0 || sealed.size() < kMagic.size() + 1 + kid_len) {
    return make_error(ErrorCode::kInvalidArgument, "sealed value: truncated");
  }
  return std::string(sealed.substr(kMagic.size() + 1, kid_len));
}

Result<std::string> Keyring::decrypt(std::string_view sealed) const {
  auto kid = key_id_of(sealed);
  if (!kid) return std::unexpected(kid.error());
  const auto it = keys_.find(*kid);
  if (it == keys_.end()) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("value is encrypted with master key id '{}', which is not in "
                                  "EARSHOT_MASTER_KEYS",
                                  *kid));
  }
  const std::size_t nonce_at = kMagic.size() + 1 + kid->size();
  if (sealed.size() < nonce_at + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return make_error(ErrorCode::kInvalidArgument, "sealed value: truncated");
  }
  const std::size_t ct_at = nonce_at + crypto_secretbox_NONCEBYTES;
  const std::size_t ct_len = sealed.size() - ct_at;
  std::string out(ct_len - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()),
                                 reinterpret_cast<const unsigned char*>(sealed.data() + ct_at), ct_len,
                                 reinterpret_cast<const unsigned char*>(sealed.data() + nonce_at),
                                 reinterpret_cast<const unsigned char*>(it->second.data())) != 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("sealed value does not authenticate under master key id '{}'", *kid));
  }
  return out;
}

}  // namespace earshot::crypto
