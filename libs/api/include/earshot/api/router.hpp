#pragma once
// The gateway's routing and request model, independent of the HTTP library.
//
// A route is a method, a path pattern with `{name}` segments, an access policy and a
// handler. The Dispatcher (dispatcher.hpp) matches a request, authenticates the caller,
// applies rate limits and the policy, then calls the handler with a parsed Request. Handlers
// return Result<Reply>; every error leaves through http_status() and the one error shape.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "earshot/core/error.hpp"

namespace earshot::api {

using Json = nlohmann::json;

// Business roles, strongest first; platform admins are above every business role.
enum class Role { kPlatformAdmin, kAdmin, kAnalyst, kViewer };
[[nodiscard]] std::string_view role_name(Role r);
[[nodiscard]] std::optional<Role> role_from_name(std::string_view name);
// True when `have` may do what `need` may.
[[nodiscard]] bool role_at_least(Role have, Role need);

// Who is calling, once authenticated.
struct Principal {
  // kSignedLink: no credentials but a signed link (Policy::signed_link) for one resource.
  enum class Kind { kUser, kPlatformAdmin, kApiKey, kSignedLink };
  Kind kind = Kind::kUser;
  std::int64_t id = 0;  // user, platform admin or API key id; the resource's id for a signed link
  std::string bid;      // the caller's business; empty for platform admins
  Role role = Role::kViewer;
  std::vector<std::string> scopes;  // API keys only

  [[nodiscard]] bool has_scope(std::string_view s) const;
  // "user:12", "admin:1", "key:3", "link:42": rate-limit and log identity.
  [[nodiscard]] std::string subject() const;
};

struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

// One part of a multipart/form-data body (a field, or a file when `filename` is set).
struct FormPart {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string content;
};

struct Request {
  std::string method;
  std::string path;
  std::string target;  // path and query string as the client sent them
  std::map<std::string, std::string> path_params;
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string, CaseInsensitiveLess> headers;
  std::string body;
  std::vector<FormPart> parts;  // multipart/form-data bodies (`body` is then empty)
  std::string remote_addr;
  std::string request_id;
  std::optional<Principal> principal;  // set for every non-public route

  [[nodiscard]] std::string header(const std::string& name) const;
  [[nodiscard]] std::optional<std::string> query_param(const std::string& name) const;
  // A positive 64-bit integer path parameter; kInvalidArgument naming it otherwise.
  [[nodiscard]] Result<std::int64_t> id_param(const std::string& name) const;
  // The body as a JSON object; kInvalidArgument when it is not one.
  [[nodiscard]] Result<Json> json_body() const;
  // The business a tenant route acts on: the caller's, or for a platform admin the one named
  // in X-Earshot-Business (the dispatcher checked it exists and is active). Empty when none.
  [[nodiscard]] const std::string& caller_bid() const;
};

// An open streamed response (server-sent events), written by the HTTP layer without holding
// a thread: bytes pushed from any thread are queued and written in order. A client that
// cannot keep up (its queue over the listener's bound) is dropped.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Queues `bytes`; false once the client has gone, was too slow, or the sink was closed.
  virtual bool push(std::string bytes) = 0;
  [[nodiscard]] virtual bool open() const = 0;
  // Ends the response (what was queued is still written) and closes the connection.
  virtual void close() = 0;
  // Called once, on any thread, when the sink stops being open (client gone, dropped, closed).
  virtual void on_close(std::function<void()> callback) = 0;
};

struct Reply;

// The other end of a reply given later (Reply::deferred): a route that waits on something
// slow (a chat answer the LLM is still writing) returns at once and answers through this,
// from any thread, while the request's connection waits without holding a listener thread.
class Responder {
 public:
  virtual ~Responder() = default;
  // Sends the reply: a Reply as a handler would return it (a plain body: no stream, no
  // object, no further deferral) or an error, answered in the one error shape like a
  // handler's. The first call counts; later calls, and calls after the request was
  // abandoned, do nothing.
  virtual void reply(Result<Reply> reply) = 0;
  // Called once, on any thread, if the request is abandoned before reply(): the client hung
  // up, the wait's deadline passed (the client was answered 504), or the listener is
  // stopping (the client was answered 503). Called at once when it already was.
  virtual void on_abandon(std::function<void()> callback) = 0;
};

struct Reply {
  int status = 200;
  Json json;  // the body, unless `raw` is set
  std::optional<std::string> raw;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // An object of `object_size` bytes streamed from the object store instead of a body
  // (recordings): called with (offset, length) for the next piece to send, it returns at
  // most `length` bytes from `offset` (an error or nothing ends the response). The HTTP
  // layer serves the request's byte ranges of the object and writes Content-Range itself.
  std::function<Result<std::string>(std::uint64_t offset, std::uint64_t length)> read_piece;
  std::uint64_t object_size = 0;
  // A body produced while the connection is open (server-sent events): once the headers are
  // written the HTTP layer calls it with the response's sink, which the callee keeps (and
  // writes to from any thread) for as long as the stream lasts. It must not block.
  std::function<void(std::shared_ptr<EventSink>)> stream;
  // The reply comes later (see Responder): the HTTP layer calls this, on the thread that ran
  // the handler, with the request's responder, and the connection waits for its reply() at
  // most `later_timeout` (then 504). It must not block.
  std::function<void(std::shared_ptr<Responder>)> later;
  std::chrono::milliseconds later_timeout{0};

  [[nodiscard]] static Reply ok(Json j) { return with_json(200, std::move(j)); }
  [[nodiscard]] static Reply created(Json j) { return with_json(201, std::move(j)); }
  [[nodiscard]] static Reply no_content() {
    Reply r;
    r.status = 204;
    r.raw = std::string();
    r.content_type.clear();
    return r;
  }
  [[nodiscard]] static Reply text(std::string body, std::string content_type, int status = 200) {
    Reply r;
    r.status = status;
    r.raw = std::move(body);
    r.content_type = std::move(content_type);
    return r;
  }
  // Server-sent events (200, text/event-stream, not cached nor buffered by proxies): `fn`
  // gets the response's sink once the headers are written (see `stream`).
  [[nodiscard]] static Reply event_stream(std::function<void(std::shared_ptr<EventSink>)> fn) {
    Reply r;
    r.raw = std::string();
    r.content_type = "text/event-stream";
    r.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
    r.stream = std::move(fn);
    return r;
  }
  // A reply given later through the Responder `fn` gets (see `later`).
  [[nodiscard]] static Reply deferred(std::chrono::milliseconds timeout,
                                      std::function<void(std::shared_ptr<Responder>)> fn) {
    Reply r;
    r.later = std::move(fn);
    r.later_timeout = timeout;
    return r;
  }

 private:
  [[nodiscard]] static Reply with_json(int status, Json j) {
    Reply r;
    r.status = status;
    r.json = std::move(j);
    return r;
  }
};

// Who may call a route.
struct Policy {
  bool public_route = false;
  // Users need at least this role (platform admins always pass where allowed at all).
  Role min_role = Role::kViewer;
  // API keys need this scope; empty: API keys may not call the route.
  std::string api_key_scope;
  // Only platform admins (e.g. list or register businesses).
  bool platform_admin_only = false;
  // The route names a business in its `{bid}` path segment: platform admins may act on any,
  // business callers only on their own; another business answers 404 as if absent.
  bool business_in_path = false;
  // Platform admins may call this route without naming a business (e.g. "who am I").
  // Routes with none of platform_admin_only, business_in_path and this are tenant routes
  // (is_tenant_route() in dispatcher.hpp).
  bool platform_admin_allowed = false;
  // A route of another method than GET that changes nothing (a search sent as POST for its
  // body): the dispatcher's write observer is not told, so it leaves the caches alone.
  bool read_only = false;
  // A route a request may also reach WITHOUT credentials through a signed link: when the
  // request carries neither Authorization nor X-Api-Key but has an `exp` or `sig` query
  // parameter, the dispatcher calls this instead of authenticating; it answers the caller
  // (a kSignedLink principal of the link's business) or kUnauthenticated with the reason.
  // Credentials, when sent, are used as on any route. Null: credentials only.
  std::function<Result<Principal>(const Request&)> signed_link;
};

using Handler = std::function<Result<Reply>(const Request&)>;

struct Route {
  std::string method;
  std::string pattern;  // "/api/v1/calls/{id}"
  Policy policy;
  Handler handler;
  std::vector<std::string> segments;
};

class Router {
 public:
  void add(std::string method, std::string pattern, Policy policy, Handler handler);

  struct Match {
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
  };
  // kNotFound when no pattern matches the path; kFailedPrecondition (as 405) is not used:
  // a path that exists under another method gives `method_not_allowed` = true.
  struct Lookup {
    std::optional<Match> match;
    bool method_not_allowed = false;
    std::vector<std::string> allowed_methods;
  };
  [[nodiscard]] Lookup find(const std::string& method, const std::string& path) const;
  [[nodiscard]] const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Splits "/a/b/" into {"a","b"}.
[[nodiscard]] std::vector<std::string> split_path(std::string_view path);

}  // namespace earshot::api
