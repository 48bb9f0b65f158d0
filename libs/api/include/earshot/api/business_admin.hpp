#pragma once
// Registering and switching businesses: the rows, the default pipeline config, the queues
// of every stage, and the control event that tells running workers. Shared by the gateway's
// admin routes and `earshot business create`.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/clock.hpp"
#include "earshot/core/error.hpp"
#include "earshot/queue/control.hpp"
#include "earshot/queue/message.hpp"
#include "earshot/queue/topology.hpp"
#include "earshot/storage/repository_set.hpp"

namespace earshot::queue {
class Publisher;
}

namespace earshot::api {

// What a client is told to wait before retrying when the broker took no work, and how that
// answer's message starts (the dispatcher lets it out as it is: it names no address).
inline constexpr std::chrono::seconds kBrokerRetryAfter{5};
inline constexpr std::string_view kBrokerRefusal = "the message broker did not take the work";

// The broker side of business administration.
class QueueControl {
 public:
  virtual ~QueueControl() = default;
  // Declares every stage's queues for the business (idempotent).
  [[nodiscard]] virtual Status declare_business(const std::string& bid) = 0;
  // Publishes and waits for the broker's confirmation. A broker that does not confirm (down,
  // or no confirmation by the publisher's deadline) is kUnavailable with its reason and
  // retry_after = kBrokerRetryAfter (the API answers 503 with Retry-After).
  [[nodiscard]] virtual Status publish(std::vector<queue::OutgoingMessage> messages) = 0;
  [[nodiscard]] virtual const queue::TopologySettings& topology() const = 0;
  // Ready messages in a queue; kNotFound when it does not exist.
  [[nodiscard]] virtual Result<std::uint32_t> queue_depth(const std::string& queue) = 0;
};

// Over a TopologyAdmin (serialized: it is single-threaded) and a running Publisher.
class AmqpQueueControl final : public QueueControl {
 public:
  AmqpQueueControl(queue::AmqpSettings amqp, queue::TopologySettings topology, queue::Publisher& publisher);
  ~AmqpQueueControl() override;
  [[nodiscard]] Status declare_business(const std::string& bid) override;
  [[nodiscard]] Status publish(std::vector<queue::OutgoingMessage> messages) override;
  [[nodiscard]] const queue::TopologySettings& topology() const override { return topology_; }
  [[nodiscard]] Result<std::uint32_t> queue_depth(const std::string& queue) override;

 private:
  queue::TopologySettings topology_;
  std::mutex mu_;
  std::unique_ptr<queue::TopologyAdmin> admin_;  // guarded by mu_
  queue::Publisher& publisher_;
};

struct NewBusiness {
  std::string bid;
  std::string name;
  std::optional<std::string> admin_email;  // with admin_password: the first admin user
  std::optional<std::string> admin_password;
};

// Declares the queues, creates the business row and its default pipeline config, the first
// admin user if asked, then publishes the registered event. kAlreadyExists for a taken bid;
// kInvalidArgument for a bad bid, name or admin credentials.
[[nodiscard]] Result<storage::Business> register_business(storage::Repositories& repos, QueueControl& queues,
                                                          const NewBusiness& in, const Clock& clock);

// Sets active/disabled and publishes the enabled/disabled event. kNotFound when absent.
[[nodiscard]] Status set_business_status(storage::BusinessRepository& businesses, QueueControl& queues,
                                         const std::string& bid, storage::BusinessStatus status, const Clock& clock);

}  // namespace earshot::api
