#include "earshot/crypto/password.hpp"

#include <sodium.h>

#include <string>

#include "sodium_init.hpp"

namespace earshot::crypto {

Result<std::string> hash_password(std::string_view password) {
  detail::ensure_sodium();
  if (password.empty()) return make_error(ErrorCode::kInvalidArgument, "password is empty");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return make_error(ErrorCode::kInternal, "argon2id: out of memory");
  }
  return std::string(out);
}

bool verify_password(std::string_view stored_hash, std::string_view password) {
  detail::ensure_sodium();
  // crypto_pwhash_str_verify needs a NUL-terminated string.
  const std::string h(stored_hash);
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

bool password_needs_rehash(std::string_view stored_hash) {
  detail::ensure_sodium();
  const std::string h(stored_hash);
  return crypto_pwhash_str_needs_rehash(h.c_str(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
}

}  // namespace earshot::crypto
