#pragma once
// A consumed message as it travels between the consumer channels, the handler pool and the
// code that finishes it. No AMQP types: the parts that only schedule deliveries are built
// and unit-tested without the broker library.

#include <cstdint>
#include <string>

#include "earshot/queue/message.hpp"

namespace earshot::queue::detail {

// A message body with its properties, read after basic.deliver / basic.return / get-ok.
struct Content {
  std::string message_id;
  std::string body;
  Headers headers;
};

// `session` identifies the channel instance the delivery arrived on: an ack for an older
// session (channel closed or connection lost since) is dropped, the broker having requeued
// that delivery already.
struct Delivery {
  std::uint64_t session = 0;
  std::uint16_t channel = 0;
  std::uint64_t tag = 0;
  std::string bid;
  bool redelivered = false;
  Content content;
};

}  // namespace earshot::queue::detail
