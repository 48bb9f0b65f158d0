#pragma once
// The delivery dispatcher: a Component that claims due rows of the durable schedule
// (storage::DeliveryRepository), sends them on their channel, and records each attempt.
//
// One thread claims, another records outcomes in batches (the two round trips overlap);
// HTTP requests (webhooks, chat, CRM) run on the shared asynchronous HttpClient with a
// deadline each; e-mail runs on a thread of its own.
// Retries: timeouts, connection errors, 408, 429 and 5xx are retried with exponential
// backoff (retry_delay(), honouring Retry-After) until max_attempts; anything else fails the
// delivery at once. A subscription whose attempts keep failing is paused (its pending
// deliveries wait) and reported (log, live event, gauge). A process killed mid-delivery
// leaves the row claimed; the lease runs out and another claim delivers it.

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "earshot/core/clock.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/core/service.hpp"
#include "earshot/http/http_client.hpp"
#include "earshot/notify/settings.hpp"
#include "earshot/notify/smtp.hpp"
#include "earshot/storage/delivery_repository.hpp"
#include "earshot/storage/repositories.hpp"

namespace earshot::notify {

// Publishes a live event (the gateway streams them); may be empty.
using EventPublisher = std::function<void(const std::string& bid, std::string_view type, nlohmann::json data)>;

struct DispatcherDeps {
  storage::DeliveryRepository& deliveries;
  http::HttpClient& http;
  storage::PipelineConfigRepository& configs;  // CRM endpoint and keys
  MailSender* mail = nullptr;                  // null: e-mail deliveries fail (not configured)
  Metrics& metrics;
  Clock& clock;
  EventPublisher publish_event;
  // Told each failed CRM write-back attempt (no response: status 0, or HTTP >= 400) with the
  // business, the CRM ("leadsquared") and the attempt's error; empty: not told.
  std::function<void(const std::string& bid, std::string_view crm, int status, std::string_view error)>
      on_crm_failure{};
};

class Dispatcher final : public Component {
 public:
  Dispatcher(NotifySettings settings, DispatcherDeps deps);
  ~Dispatcher() override;
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  [[nodiscard]] std::string name() const override { return "notify-dispatcher"; }
  [[nodiscard]] Status start() override;
  void stop_intake() override;
  void drain(std::chrono::steady_clock::time_point deadline) override;
  void stop() override;

  // Look for due deliveries now (the notify stage calls it after enqueueing).
  void wake();
  [[nodiscard]] std::size_t in_flight() const;
  // Attempts recorded since start (tests, benchmarks).
  [[nodiscard]] std::uint64_t recorded() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace earshot::notify
