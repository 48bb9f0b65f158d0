// CRM answers: LeadSquared's lead search (both body shapes, its status and Retry-After
// handling through fetch_leads_page) and its time format, from replies taken from the input
// (fuzz_http.hpp). Input: replies; the body also goes through parse_lsq_time.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "earshot/sync/leadsquared.hpp"
#include "fuzz_http.hpp"

namespace lsq = earshot::sync;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto page = lsq::parse_leads_response(input)) {
    if (page->record_count && *page->record_count < 0) __builtin_trap();
  }
  if (auto t = lsq::parse_lsq_time(input)) {
    // What was read is written back in the same format and reads the same to the second.
    auto again = lsq::parse_lsq_time(lsq::format_lsq_time(*t));
    if (!again || std::chrono::floor<std::chrono::seconds>(*again) != std::chrono::floor<std::chrono::seconds>(*t)) {
      __builtin_trap();
    }
  }

  earshot::testing::FakeClock clock;
  earshot::fuzz::FuzzHttpClient client(clock, earshot::fuzz::replies_of(input), true);
  lsq::CrmConfig crm{.provider = "leadsquared", .base_url = "http://lsq.test", .access_key = "a", .secret_key = "s"};
  int status = 0;
  (void)lsq::fetch_leads_page(client, crm, "2026-01-01 00:00:00", 1, &status, clock);
  return 0;
}
