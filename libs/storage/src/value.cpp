#include <charconv>

#include "earshot/storage/sql.hpp"

namespace earshot::storage {

std::optional<std::int64_t> Value::opt_int() const {
  if (const auto* i = std::get_if<std::int64_t>(&v_)) return *i;
  if (const auto* d = std::get_if<double>(&v_)) return static_cast<std::int64_t>(*d);
  if (const auto* s = std::get_if<std::string>(&v_)) {
    std::int64_t out = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
    if (ec == std::errc() && p == s->data() + s->size()) return out;
  }
  if (const auto* t = std::get_if<Timestamp>(&v_)) return t->time_since_epoch().count();
  return std::nullopt;
}

std::optional<double> Value::opt_double() const {
  if (const auto* d = std::get_if<double>(&v_)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&v_)) return static_cast<double>(*i);
  if (const auto* s = std::get_if<std::string>(&v_)) {
    double out = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
    if (ec == std::errc() && p == s->data() + s->size()) return out;
  }
  return std::nullopt;
}

std::optional<std::string> Value::opt_string() const {
  if (const auto* s = std::get_if<std::string>(&v_)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&v_)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v_)) return std::to_string(*d);
  return std::nullopt;
}

std::optional<Timestamp> Value::opt_time() const {
  if (const auto* t = std::get_if<Timestamp>(&v_)) return *t;
  if (const auto* i = std::get_if<std::int64_t>(&v_)) {
    return Timestamp(std::chrono::milliseconds(*i));
  }
  return std::nullopt;
}

std::int64_t Value::as_int(std::int64_t fallback) const {
  return opt_int().value_or(fallback);
}
double Value::as_double(double fallback) const {
  return opt_double().value_or(fallback);
}
std::string Value::as_string() const {
  return opt_string().value_or(std::string{});
}
std::string Value::take_string() {
  if (auto* s = std::get_if<std::string>(&v_)) return std::move(*s);
  return as_string();
}
Timestamp Value::as_time() const {
  return opt_time().value_or(Timestamp{});
}

}  // namespace earshot::storage
