// A stage worker process for the kill -9 test: consumes sync.<bid> and applies each message's
// effect idempotently, as real handlers do (the storage layer's guarded transitions): the
// effect is a file named by the message id, created with O_EXCL, so a redelivered message
// whose effect already exists changes nothing.
//
//   queue_test_worker <bid> <dir> <delay_ms>
//
// Before the effect it appends "start <id>" to <dir>/log and waits delay_ms (so a test can
// kill it mid-message); after the effect it appends "effect <id>" or "duplicate <id>".

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "earshot/core/clock.hpp"
#include "earshot/core/log.hpp"
#include "earshot/core/metrics.hpp"
#include "earshot/queue/worker.hpp"
#include "fakes/queue/business_directory.hpp"
#include "fakes/queue/outcome_recorder.hpp"

namespace eq = earshot::queue;

namespace {

class EffectHandler final : public eq::StageHandler {
 public:
  EffectHandler(std::string dir, int delay_ms) : dir_(std::move(dir)), delay_ms_(delay_ms) {}
  eq::HandlerResult handle(const eq::IncomingMessage& m) override {
    const std::string& id = m.envelope.message_id;
    append("start " + id);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    const std::string path = dir_ + "/effect-" + id;
    int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd >= 0) {
      ::close(fd);
      append("effect " + id);
    } else {
      append("duplicate " + id);
    }
    return eq::Done{};
  }

 private:
  void append(const std::string& line) {
    std::lock_guard l(mu_);
    std::ofstream(dir_ + "/log", std::ios::app) << line << "\n" << std::flush;
  }
  std::string dir_;
  int delay_ms_;
  std::mutex mu_;
};

volatile std::sig_atomic_t g_stop = 0;

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 || std::getenv("EARSHOT_AMQP_URL") == nullptr) return 2;
  earshot::log::init("queue-test-worker", "warn", earshot::log::Format::kText);
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  eq::AmqpSettings amqp;
  amqp.url = std::getenv("EARSHOT_AMQP_URL");
  amqp.heartbeat = std::chrono::seconds(2);
  amqp.connect_timeout = std::chrono::seconds(2);
  eq::TopologySettings topo;
  eq::InMemoryBusinessDirectory dir;
  dir.enable(argv[1]);
  EffectHandler handler(argv[2], std::atoi(argv[3]));
  eq::InMemoryOutcomeRecorder recorder;
  earshot::Metrics metrics("queue-test-worker", "0", "test");
  eq::StageWorkerOptions o;
  o.handler_threads = 1;
  eq::StageWorker worker(amqp, topo, o, handler, dir, recorder, metrics, earshot::SystemClock::instance());
  if (!worker.start()) return 1;
  while (g_stop == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  worker.stop_intake();
  worker.drain(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  worker.stop();
  return 0;
}
