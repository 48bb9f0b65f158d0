// The dashboard's files as the gateway serves them (StaticSite), and the dispatcher handing
// unmatched GETs to it: SPA fallback, caching, ETags, the CSP, and paths that try to leave
// the directory or reach the API. Files are written to a fresh temporary directory.
#include "earshot/api/static_site.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "earshot/api/dispatcher.hpp"
#include "fakes/fake_clock.hpp"

namespace earshot::api {
namespace {

namespace fs = std::filesystem;

class StaticSiteTest : public ::testing::Test {
 protected:
  StaticSiteTest() {
    dir_ = fs::temp_directory_path() / ("earshot-site-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_ / "assets");
    write("index.html",
          "<!doctype html><title>Earshot</title><script type=module src=/assets/index-abc123.js></script>");
    write("assets/index-abc123.js", "console.log('app')");
    write("assets/index-abc123.css", "body{}");
    write("favicon.svg", "<svg/>");
    // Outside the site: must never be served.
    std::ofstream(dir_.parent_path() / (dir_.filename().string() + "-secret.txt")) << "secret";
  }
  ~StaticSiteTest() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    fs::remove(dir_.parent_path() / (dir_.filename().string() + "-secret.txt"), ec);
  }
  void write(const std::string& rel, const std::string& body) { std::ofstream(dir_ / rel, std::ios::binary) << body; }

  static Request get(const std::string& path, std::map<std::string, std::string> headers = {}) {
    Request r;
    r.method = "GET";
    r.path = path;
    for (auto& [k, v] : headers) r.headers[k] = v;
    return r;
  }
  static std::string header(const Reply& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return {};
  }

  fs::path dir_;
};

TEST_F(StaticSiteTest, ServesFilesWithTheirTypesCachingAndTheStrictPolicy) {
  auto site = StaticSite::load(dir_);
  ASSERT_TRUE(site) << site.error().to_string();
  EXPECT_EQ(site->files(), 4U);

  auto index = site->reply(get("/"));
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_NE(index->raw.value_or("").find("<title>Earshot</title>"), std::string::npos);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(*index, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(*index, "Content-Security-Policy"), StaticSite::kContentSecurityPolicy);
  EXPECT_NE(std::string(StaticSite::kContentSecurityPolicy).find("script-src 'self';"), std::string::npos);
  EXPECT_EQ(std::string(StaticSite::kContentSecurityPolicy).find("unsafe"), std::string::npos);

  auto js = site->reply(get("/assets/index-abc123.js"));
  ASSERT_TRUE(js);
  EXPECT_EQ(js->raw, "console.log('app')");
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(*js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(site->reply(get("/assets/index-abc123.css"))->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(site->reply(get("/favicon.svg"))->content_type, "image/svg+xml");

  // Revalidation: the same ETag gives 304 without the body; a changed one the file.
  const std::string etag = header(*js, "ETag");
  ASSERT_FALSE(etag.empty());
  auto again = site->reply(get("/assets/index-abc123.js", {{"If-None-Match", etag}}));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->raw.value_or("").empty());
  EXPECT_EQ(site->reply(get("/assets/index-abc123.js", {{"If-None-Match", "\"other\""}}))->status, 200);
}

TEST_F(StaticSiteTest, PagesOfTheAppGetIndexButMissingFilesTheApiAndEscapesDoNot) {
  auto site = StaticSite::load(dir_);
  ASSERT_TRUE(site);
  for (const char* page : {"/calls", "/calls/42", "/admin/users/"}) {
    auto r = site->reply(get(page));
    ASSERT_TRUE(r) << page;
    EXPECT_NE(r->raw.value_or("").find("<title>Earshot</title>"), std::string::npos) << page;
  }
  const std::string escape = "/../" + dir_.filename().string() + "-secret.txt";
  for (const std::string& path :
       std::vector<std::string>{"/assets/missing.js", "/missing.png", "/api/v1/nope", "/api", escape,
                                std::string("/assets/../index.html.bak"), std::string("/%2e%2e/secret.txt"),
                                std::string("index.html"), std::string("")}) {
    EXPECT_FALSE(site->reply(get(path))) << path;
  }
  Request post = get("/");
  post.method = "POST";
  EXPECT_FALSE(site->reply(post));
}

TEST_F(StaticSiteTest, ADirectoryWithoutIndexIsNotASite) {
  fs::remove(dir_ / "index.html");
  auto site = StaticSite::load(dir_);
  ASSERT_FALSE(site);
  EXPECT_EQ(site.error().code, ErrorCode::kNotFound);
  EXPECT_NE(site.error().message.find("no index.html"), std::string::npos);
  EXPECT_FALSE(StaticSite::load(dir_ / "nowhere"));
}

class NoAuth final : public Authenticator {
 public:
  Result<Principal> bearer(std::string_view) override { return make_error(ErrorCode::kUnauthenticated, "no"); }
  Result<Principal> api_key(std::string_view) override { return make_error(ErrorCode::kUnauthenticated, "no"); }
  Status business_for_admin(std::string_view) override { return make_error(ErrorCode::kNotFound, "no"); }
};

TEST_F(StaticSiteTest, TheDispatcherServesTheSiteOnlyWhereNoRouteMatches) {
  Router router;
  Policy pub;
  pub.public_route = true;
  router.add("GET", "/healthz", pub, [](const Request&) -> Result<Reply> { return Reply::ok({{"ok", true}}); });
  NoAuth auth;
  testing::FakeClock clock;
  Metrics metrics{"test", "0", "0"};
  Dispatcher dispatcher{router, auth, nullptr, RateLimitOptions{false, 5, 3, std::chrono::seconds(60)}, clock, metrics};
  auto call = [&](const std::string& path) {
    Request r = get(path);
    r.remote_addr = "10.0.0.1";
    std::string label;
    return dispatcher.handle(r, label);
  };
  dispatcher.serve_site(nullptr, "web/dist: no index.html (the dashboard is not built)");
  auto missing = call("/");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json["error"]["message"],
            "the dashboard is not served here: web/dist: no index.html (the dashboard is not built) "
            "(scripts/build.sh builds it; EARSHOT_WEB_DIR names its directory)");

  auto site = StaticSite::load(dir_);
  ASSERT_TRUE(site);
  dispatcher.serve_site(&*site, {});
  EXPECT_EQ(call("/healthz").json["ok"], true);  // routes first
  EXPECT_NE(call("/calls/7").raw.value_or("").find("<title>Earshot</title>"), std::string::npos);
  auto api = call("/api/v1/unknown");
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(api.json["error"]["code"], "not_found");  // the API's own error shape, not the page
}

}  // namespace
}  // namespace earshot::api
