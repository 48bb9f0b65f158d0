#include "earshot/crypto/base64.hpp"

#include <sodium.h>

#include "sodium_init.hpp"

namespace earshot::crypto {
namespace {

int sodium_variant(Base64Variant v) {
  return v == Base64Variant::kStandard ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_URLSAFE_NO_PADDING;
}

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string base64_encode(std::string_view bytes, Base64Variant variant) {
  detail::ensure_sodium();
  const int v = sodium_variant(variant);
  std::string out(sodium_base64_encoded_len(bytes.size(), v), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes_of(bytes), bytes.size(), v);
  out.resize(out.size() - 1);  // the encoded length counts the terminating NUL
  return out;
}

Result<std::string> base64_decode(std::string_view text, Base64Variant variant) {
  detail::ensure_sodium();
  std::string out(text.size() * 3 / 4 + 3, '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, sodium_variant(variant)) != 0 ||
      end != text.data() + text.size()) {
    return make_error(ErrorCode::kInvalidArgument, "not valid base64");
  }
  out.resize(len);
  return out;
}

std::string hex_encode(std::string_view bytes) {
  detail::ensure_sodium();
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes_of(bytes), bytes.size());
  out.resize(bytes.size() * 2);
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  detail::ensure_sodium();
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string sha256(std::string_view data) {
  detail::ensure_sodium();
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), bytes_of(data), data.size());
  return out;
}

}  // namespace earshot::crypto
