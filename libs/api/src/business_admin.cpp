#include "earshot/api/business_admin.hpp"

#include <fmt/format.h>

#include "earshot/crypto/password.hpp"
#include "earshot/pipeline/default_agents.hpp"
#include "earshot/queue/publisher.hpp"

namespace earshot::api {

AmqpQueueControl::AmqpQueueControl(queue::AmqpSettings amqp, queue::TopologySettings topology,
                                   queue::Publisher& publisher)
    : topology_(topology),
      admin_(std::make_unique<queue::TopologyAdmin>(std::move(amqp), std::move(topology))),
      publisher_(publisher) {}

AmqpQueueControl::~AmqpQueueControl() = default;

Status AmqpQueueControl::declare_business(const std::string& bid) {
  std::lock_guard lock(mu_);
  if (auto st = admin_->declare_exchanges(); !st) return st;
  for (auto stage : queue::kAllStages) {
    if (auto st = admin_->declare_business(stage, bid); !st) return st;
  }
  return {};
}

Result<std::uint32_t> AmqpQueueControl::queue_depth(const std::string& queue) {
  std::lock_guard lock(mu_);
  return admin_->queue_depth(queue);
}

Status AmqpQueueControl::publish(std::vector<queue::OutgoingMessage> messages) {
  auto st = publisher_.publish_batch(std::move(messages));
  if (st) return st;
  // A broker that does not confirm (down, unreachable, restarting: the publisher's deadline
  // passes) is an outage of a dependency, not a slow request: 503 with Retry-After.
  const Error& e = st.error();
  if (e.code != ErrorCode::kTimeout && e.code != ErrorCode::kUnavailable) return st;
  Error out(ErrorCode::kUnavailable,
            fmt::format("{} ({}); nothing was lost, retry shortly", kBrokerRefusal, e.message));
  out.retry_after = kBrokerRetryAfter;
  return std::unexpected(out);
}

namespace {

Status announce(QueueControl& queues, queue::BusinessEventType type, const std::string& bid, const Clock& clock) {
  queue::BusinessEvent ev;
  ev.type = type;
  ev.bid = bid;
  ev.at = clock.now();
  std::vector<queue::OutgoingMessage> m;
  m.push_back(queue::make_business_event_message(queues.topology(), ev));
  return queues.publish(std::move(m));
}

}  // namespace

Result<storage::Business> register_business(storage::Repositories& repos, QueueControl& queues, const NewBusiness& in,
                                            const Clock& clock) {
  auto tenant = storage::TenantId::make(in.bid);
  if (!tenant) return std::unexpected(tenant.error());
  if (in.name.empty() || in.name.size() > 255) {
    return make_error(ErrorCode::kInvalidArgument, "name must be 1-255 characters");
  }
  if (in.admin_email.has_value() != in.admin_password.has_value()) {
    return make_error(ErrorCode::kInvalidArgument, "admin_email and admin_password go together");
  }
  std::optional<std::string> admin_hash;
  if (in.admin_password) {
    if (in.admin_email->empty() || in.admin_email->find('@') == std::string::npos || in.admin_email->size() > 255) {
      return make_error(ErrorCode::kInvalidArgument, "admin_email must be an e-mail address");
    }
    if (in.admin_password->size() < 8) {
      return make_error(ErrorCode::kInvalidArgument, "admin_password must be at least 8 characters");
    }
    auto h = crypto::hash_password(*in.admin_password);
    if (!h) return std::unexpected(h.error());
    admin_hash = *h;
  }
  if (in.admin_email) {
    // E-mails are unique on the platform; refused before anything is made.
    auto taken = repos.users.email_taken(*in.admin_email);
    if (!taken) return std::unexpected(taken.error());
    if (*taken) {
      return make_error(ErrorCode::kAlreadyExists,
                        "a user with this e-mail already exists (e-mails are unique on the platform)");
    }
  }
  // Queues first: declaring is idempotent, so a failure here leaves nothing half-made.
  if (auto st = queues.declare_business(in.bid); !st) return std::unexpected(st.error());
  auto& businesses = repos.businesses;
  if (auto st = businesses.create(*tenant, in.name); !st) return std::unexpected(st.error());
  if (auto st = repos.pipeline_configs.put(*tenant, storage::PipelineConfig{}); !st) {
    return std::unexpected(st.error());
  }
  if (auto seeded = pipeline::seed_default_agents(repos.agent_configs, *tenant); !seeded) {
    return std::unexpected(seeded.error().with_context("default agents"));
  }
  if (admin_hash && in.admin_email) {  // both or neither (checked above)
    storage::User u;
    u.email = *in.admin_email;
    u.display_name = "Administrator";
    u.role = storage::UserRole::kAdmin;
    u.password_hash = *admin_hash;
    if (auto id = repos.users.create(*tenant, u); !id) return std::unexpected(id.error());
  }
  if (auto st = announce(queues, queue::BusinessEventType::kRegistered, in.bid, clock); !st) {
    return std::unexpected(st.error().with_context("business registered, workers not told yet"));
  }
  return businesses.get(*tenant);
}

Status set_business_status(storage::BusinessRepository& businesses, QueueControl& queues, const std::string& bid,
                           storage::BusinessStatus status, const Clock& clock) {
  auto tenant = storage::TenantId::make(bid);
  if (!tenant) return make_error(ErrorCode::kNotFound, "no such business");
  auto changed = businesses.set_status(*tenant, status);
  if (!changed) return std::unexpected(changed.error());
  if (!*changed) {
    auto b = businesses.get(*tenant);
    if (!b) return std::unexpected(b.error());
  }
  if (status == storage::BusinessStatus::kActive) {
    if (auto st = queues.declare_business(bid); !st) return st;
  }
  return announce(queues,
                  status == storage::BusinessStatus::kActive ? queue::BusinessEventType::kEnabled
                                                             : queue::BusinessEventType::kDisabled,
                  bid, clock);
}

}  // namespace earshot::api
