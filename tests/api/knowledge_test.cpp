// The knowledge-base routes through the real gateway, MariaDB, RabbitMQ and Redis, and the
// embed stage run in-process on the messages the routes queued: CRUD and keyset paging,
// uploads of plain text, Markdown, HTML and PDF (PDFs made here), the 400/413/415/422
// refusals, roles, another business's ids answering 404 like missing ones, and a document
// going pending -> ready (and a stale version skipped) with its knowledge.status events.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "earshot/llm/embedding.hpp"
#include "earshot/pipeline/embed_stage.hpp"
#include "earshot/queue/messages.hpp"
#include "earshot/storage/mysql_repositories.hpp"
#include "embed_worker_fixture.hpp"
#include "fakes/pipeline/business_llm_fake.hpp"
#include "gateway_fixture.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

using json = nlohmann::json;

constexpr std::int64_t kMaxDocument = std::int64_t{64} * 1024;  // small, so "too large" is cheap

Gateway& kb_gateway() {
  static Gateway* gw = [] {
    auto* g = new Gateway({true, 1'000'000, 1'000'000, std::chrono::seconds(60)}, 1 << 20);
    api::RagSettings rag;
    rag.knowledge_max_bytes = kMaxDocument;
    g->set_rag_settings(rag);
    return g;
  }();
  return *gw;
}

// A one-page PDF whose page shows `lines` (none: a page without a text layer, like a scan).
std::string make_pdf(const std::vector<std::string>& lines) {
  std::string content;
  if (lines.empty()) {
    content = "0 0 m 200 200 l S\n";
  } else {
    content = "BT /F1 12 Tf 72 720 Td 14 TL\n";
    for (const auto& l : lines) content += "(" + l + ") Tj T*\n";
    content += "ET\n";
  }
  const std::vector<std::string> objects = {
      "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
      fmt::format("<< /Length {} >>\nstream\n{}endstream", content.size(), content)};
  std::string pdf = "%PDF-1.4\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += fmt::format("{} 0 obj\n{}\nendobj\n", i + 1, objects[i]);
  }
  const std::size_t xref = pdf.size();
  pdf += fmt::format("xref\n0 {}\n0000000000 65535 f \n", objects.size() + 1);
  for (auto o : offsets) pdf += fmt::format("{:010} 00000 n \n", o);
  pdf += fmt::format("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{}\n%%EOF\n", objects.size() + 1, xref);
  return pdf;
}

HttpReply upload(Gateway& gw, const std::string& token, const httplib::MultipartFormDataItems& items) {
  httplib::Client cli("127.0.0.1", gw.port);
  cli.set_read_timeout(30, 0);
  httplib::Headers headers{{"Authorization", "Bearer " + token}};
  auto res = cli.Post("/api/v1/knowledge/upload", headers, items);
  HttpReply out;
  if (!res) return out;
  out.status = res->status;
  out.body = res->body;
  out.headers = res->headers;
  out.json = json::parse(res->body, nullptr, false);
  return out;
}

std::string error_code(const HttpReply& r) {
  return r.json.is_object() && r.json.contains("error") ? r.json["error"].value("code", "") : "";
}
std::string error_message(const HttpReply& r) {
  return r.json.is_object() && r.json.contains("error") ? r.json["error"].value("message", "") : "";
}

// The embed worker's providers in this test: the hashed embedder.
struct WorkerProviders {
  llm::HashedBowEmbedder embedder{256};
  FakeBusinessLlmSource source{nullptr, &embedder};
};

bool done(const queue::HandlerResult& r) {
  return r && std::holds_alternative<queue::Done>(*r);
}

TEST(Knowledge, ADocumentGoesPendingToReadyIsEditedListedAndDeleted) {
  auto& gw = kb_gateway();
  const auto bid = gw.new_business("kb");
  const auto analyst = gw.user_token(bid, "analyst");
  WorkerProviders providers;
  EmbedWorker worker(gw, providers.source);

  auto r = gw.request("POST", "/api/v1/knowledge", analyst,
                      {{"title", "Refund policy"},
                       {"text",
                        "# Refunds\n\nRefunds are paid **within thirty days** of the request.\n\n"
                        "Shipping costs are not refunded."},
                       {"content_type", "text/markdown"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const auto id = r.json["id"].get<std::int64_t>();
  EXPECT_EQ(r.header("Location"), fmt::format("/api/v1/knowledge/{}", id));
  EXPECT_EQ(r.json["status"], "pending");
  EXPECT_EQ(r.json["version"], 1);
  EXPECT_EQ(r.json["content_type"], "text/markdown");
  EXPECT_EQ(r.json["chunk_count"], 0);
  EXPECT_TRUE(r.json["reason"].is_null());

  r = gw.request("GET", fmt::format("/api/v1/knowledge/{}?include=text", id), analyst);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string text = r.json["text"];
  EXPECT_NE(text.find("Refunds are paid within thirty days"), std::string::npos) << text;  // markup gone
  EXPECT_EQ(text.find("**"), std::string::npos);

  // The route queued the document's version on embed.{bid}; the stage makes it ready.
  const auto m1 = worker.take(bid);
  EXPECT_EQ(queue::EmbedRequest::parse(m1.body).value(), queue::EmbedRequest::for_document(bid, id, 1));
  ASSERT_TRUE(done(worker.handle(m1)));
  r = gw.request("GET", fmt::format("/api/v1/knowledge/{}", id), analyst);
  EXPECT_EQ(r.json["status"], "ready");
  EXPECT_EQ(r.json["model"], "hashed-bow:256");
  EXPECT_GE(r.json["chunk_count"].get<int>(), 1);
  EXPECT_FALSE(r.json.contains("text"));

  // New text: version 2, pending again, queued again. The old message is now stale.
  r = gw.request("PUT", fmt::format("/api/v1/knowledge/{}", id), analyst,
                 {{"text", "Refunds are paid within fourteen days."}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["version"], 2);
  EXPECT_EQ(r.json["status"], "pending");
  EXPECT_EQ(r.json["chunk_count"], 0);
  ASSERT_TRUE(done(worker.handle(m1)));  // a redelivered version 1: skipped, nothing written
  r = gw.request("GET", fmt::format("/api/v1/knowledge/{}", id), analyst);
  EXPECT_EQ(r.json["status"], "pending");
  EXPECT_EQ(r.json["chunk_count"], 0);
  const auto m2 = worker.take(bid);
  EXPECT_EQ(queue::EmbedRequest::parse(m2.body).value(), queue::EmbedRequest::for_document(bid, id, 2));
  ASSERT_TRUE(done(worker.handle(m2)));
  r = gw.request("GET", fmt::format("/api/v1/knowledge/{}", id), analyst);
  EXPECT_EQ(r.json["status"], "ready");
  EXPECT_EQ(r.json["version"], 2);

  // A title alone keeps the version and the chunks, and queues nothing.
  r = gw.request("PUT", fmt::format("/api/v1/knowledge/{}", id), analyst, {{"title", "Refunds (EU)"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["title"], "Refunds (EU)");
  EXPECT_EQ(r.json["version"], 2);
  EXPECT_EQ(r.json["status"], "ready");
  EXPECT_TRUE(worker.queue_empty(bid));

  // Keyset paging, newest first, and the status filter.
  std::vector<std::int64_t> ids{id};
  for (int i = 0; i < 3; ++i) {
    r = gw.request("POST", "/api/v1/knowledge", analyst, {{"title", fmt::format("Doc {}", i)}, {"text", "Some text."}});
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(r.json["id"].get<std::int64_t>());
  }
  r = gw.request("GET", "/api/v1/knowledge?limit=2", analyst);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["items"].size(), 2U);
  EXPECT_EQ(r.json["items"][0]["id"], ids[3]);
  EXPECT_EQ(r.json["items"][1]["id"], ids[2]);
  ASSERT_TRUE(r.json["next_before"].is_number());
  r = gw.request("GET", fmt::format("/api/v1/knowledge?limit=2&before={}", r.json["next_before"].get<std::int64_t>()),
                 analyst);
  ASSERT_EQ(r.json["items"].size(), 2U);
  EXPECT_EQ(r.json["items"][0]["id"], ids[1]);
  EXPECT_EQ(r.json["items"][1]["id"], ids[0]);
  EXPECT_TRUE(r.json["next_before"].is_null());
  r = gw.request("GET", "/api/v1/knowledge?status=ready", analyst);
  ASSERT_EQ(r.json["items"].size(), 1U);
  EXPECT_EQ(r.json["items"][0]["id"], id);

  // Delete: gone, and every gateway's search shard is told.
  r = gw.request("DELETE", fmt::format("/api/v1/knowledge/{}", id), analyst);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(gw.request("GET", fmt::format("/api/v1/knowledge/{}", id), analyst).status, 404);
  EXPECT_EQ(gw.request("DELETE", fmt::format("/api/v1/knowledge/{}", id), analyst).status, 404);

  const auto events = worker.events(bid, "knowledge.");
  ASSERT_EQ(events.size(), 3U) << json(events).dump();
  EXPECT_EQ(events[0],
            (json{{"type", "knowledge.status"}, {"data", {{"document_id", id}, {"status", "ready"}, {"version", 1}}}}));
  EXPECT_EQ(events[1],
            (json{{"type", "knowledge.status"}, {"data", {{"document_id", id}, {"status", "ready"}, {"version", 2}}}}));
  EXPECT_EQ(events[2], (json{{"type", "knowledge.deleted"}, {"data", {{"document_id", id}}}}));
}

TEST(Knowledge, UploadsOfTextMarkdownHtmlAndPdfAndTheirRefusals) {
  auto& gw = kb_gateway();
  const auto bid = gw.new_business("kb");
  const auto admin = gw.user_token(bid, "admin");
  auto get_text = [&](const HttpReply& created) {
    auto r = gw.request("GET", fmt::format("/api/v1/knowledge/{}?include=text", created.json["id"].get<std::int64_t>()),
                        admin);
    return r.json.value("text", "");
  };

  auto r = upload(gw, admin, {{"file", "Returns are free within 30 days.\n", "returns.txt", "text/plain"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json["title"], "returns.txt");  // plain text has no title of its own
  EXPECT_EQ(r.json["content_type"], "text/plain");
  EXPECT_EQ(r.json["status"], "pending");
  EXPECT_EQ(r.json["size_bytes"], 33);
  EXPECT_EQ(get_text(r), "Returns are free within 30 days.");

  r = upload(gw, admin, {{"file", "# Warranty terms\n\nTwo years on *all* devices.\n", "w.md", ""}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json["title"], "Warranty terms");        // its first heading
  EXPECT_EQ(r.json["content_type"], "text/markdown");  // from the file name
  EXPECT_NE(get_text(r).find("Two years on all devices."), std::string::npos);

  r = upload(
      gw, admin,
      {{"file", "<html><head><title>Hours</title></head><body><p>Open 9&ndash;5.</p><script>x()</script></body></html>",
        "hours.bin", "text/html"},
       {"title", "Opening hours", "", ""}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json["title"], "Opening hours");  // the field wins over <title>
  EXPECT_EQ(r.json["content_type"], "text/html");
  const auto html_text = get_text(r);
  EXPECT_NE(html_text.find("Open 9"), std::string::npos) << html_text;
  EXPECT_EQ(html_text.find("x()"), std::string::npos) << html_text;

  r = upload(gw, admin,
             {{"file", make_pdf({"Escalations go to the duty manager.", "Call 555 0100."}), "duty.pdf",
               "application/octet-stream"}});  // told apart by its %PDF- bytes
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json["content_type"], "application/pdf");
  EXPECT_NE(get_text(r).find("Escalations go to the duty manager."), std::string::npos);

  // Refusals, each with its reason; nothing stored.
  const auto before = gw.request("GET", "/api/v1/knowledge?limit=500", admin).json["items"].size();
  r = upload(gw, admin, {{"file", make_pdf({}), "scan.pdf", "application/pdf"}});
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(error_code(r), "unprocessable_content");
  EXPECT_FALSE(error_message(r).empty());
  r = upload(gw, admin, {{"file", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16), "logo.png", "image/png"}});
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_EQ(error_code(r), "unsupported_media_type");
  r = upload(gw, admin, {{"file", "caf\xC3 broken", "bad.txt", "text/plain"}});
  EXPECT_EQ(r.status, 400) << r.body;
  r = upload(gw, admin, {{"file", "%PDF-1.4\nnot really a pdf", "broken.pdf", "application/pdf"}});
  EXPECT_EQ(r.status, 400) << r.body;
  // Over the limit: 413 before any extraction (this "PDF" would otherwise be a 400).
  r = upload(gw, admin, {{"file", "%PDF-1.4\n" + std::string(kMaxDocument, 'x'), "big.pdf", "application/pdf"}});
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(error_code(r), "payload_too_large");
  r = gw.request("POST", "/api/v1/knowledge", admin, {{"title", "Big"}, {"text", std::string(kMaxDocument + 1, 'a')}});
  EXPECT_EQ(r.status, 413) << r.body;
  r = upload(gw, admin, {{"title", "No file", "", ""}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_message(r), "the document is missing: send it in the 'file' part");
  r = upload(gw, admin, {{"file", "text", "a.txt", "text/plain"}, {"extra", "x", "", ""}});
  EXPECT_EQ(r.status, 400) << r.body;
  r = gw.request("POST", "/api/v1/knowledge/upload", admin, {{"title", "json, not a form"}});
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_EQ(gw.request("GET", "/api/v1/knowledge?limit=500", admin).json["items"].size(), before);
}

TEST(Knowledge, RolesBadInputAndAnotherBusinesssDocumentsAnswerLikeMissingOnes) {
  auto& gw = kb_gateway();
  const auto a = gw.new_business("kb");
  const auto b = gw.new_business("kb");
  const auto a_admin = gw.user_token(a, "admin");
  const auto a_viewer = gw.user_token(a, "viewer");
  const auto b_admin = gw.user_token(b, "admin");
  auto r = gw.request("POST", "/api/v1/knowledge", a_admin, {{"title", "Secret pricing"}, {"text", "Floor price 42."}});
  ASSERT_EQ(r.status, 201) << r.body;
  const auto id = r.json["id"].get<std::int64_t>();
  const auto path = fmt::format("/api/v1/knowledge/{}", id);

  // Viewers read, never write.
  EXPECT_EQ(gw.request("GET", path, a_viewer).status, 200);
  EXPECT_EQ(gw.request("GET", "/api/v1/knowledge", a_viewer).status, 200);
  EXPECT_EQ(gw.request("POST", "/api/v1/knowledge", a_viewer, {{"title", "t"}, {"text", "x"}}).status, 403);
  EXPECT_EQ(gw.request("PUT", path, a_viewer, {{"title", "t"}}).status, 403);
  EXPECT_EQ(gw.request("DELETE", path, a_viewer).status, 403);
  EXPECT_EQ(upload(gw, a_viewer, {{"file", "x", "x.txt", "text/plain"}}).status, 403);

  // Another business: the same answer as an id that names nothing.
  const auto missing = gw.request("GET", "/api/v1/knowledge/999999999", b_admin);
  EXPECT_EQ(missing.status, 404);
  for (const auto& [method, body] :
       {std::pair{std::string("GET"), json(nullptr)}, std::pair{std::string("PUT"), json{{"text", "Floor price 0."}}},
        std::pair{std::string("DELETE"), json(nullptr)}}) {
    const auto foreign = gw.request(method, path, b_admin, body);
    EXPECT_EQ(foreign.status, 404) << method << " " << foreign.body;
    EXPECT_EQ(error_code(foreign), error_code(missing)) << method;
    EXPECT_EQ(foreign.body.find("Secret"), std::string::npos);
  }
  EXPECT_TRUE(gw.request("GET", "/api/v1/knowledge", b_admin).json["items"].empty());
  r = gw.request("GET", path + "?include=text", a_admin);
  EXPECT_EQ(r.json["text"], "Floor price 42.");  // untouched
  EXPECT_EQ(r.json["version"], 1);

  // Bad input: 400 with a reason.
  const std::vector<std::pair<HttpReply, std::string>> bad = {
      {gw.request("GET", "/api/v1/knowledge/abc", a_admin), "id must be a positive integer"},
      {gw.request("GET", path + "?include=chunks", a_admin), "include must be text"},
      {gw.request("GET", "/api/v1/knowledge?status=done", a_admin), "status must be pending|ready|failed"},
      {gw.request("GET", "/api/v1/knowledge?limit=0", a_admin), "limit must be an integer 1..500"},
      {gw.request("GET", "/api/v1/knowledge?sort=title", a_admin), "unknown query parameter 'sort'"},
      {gw.request("POST", "/api/v1/knowledge", a_admin, {{"title", "t"}}), "text is required"},
      {gw.request("POST", "/api/v1/knowledge", a_admin, {{"text", "x"}}), "title is required"},
      {gw.request("POST", "/api/v1/knowledge", a_admin, {{"title", std::string(513, 't')}, {"text", "x"}}),
       "title must be 1-512 characters"},
      {gw.request("POST", "/api/v1/knowledge", a_admin,
                  {{"title", "t"}, {"text", "x"}, {"content_type", "application/pdf"}}),
       "content_type must be text/plain|text/markdown|text/html"},
      {gw.request("POST", "/api/v1/knowledge", a_admin, {{"title", "t"}, {"text", "x"}, {"owner", "b"}}),
       "unknown field 'owner'"},
      {gw.request("PUT", path, a_admin, json::object()), "send title and/or text"},
      {gw.request("PUT", path, a_admin, {{"content_type", "text/html"}}), "content_type needs text"},
  };
  for (const auto& [reply, message] : bad) {
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_EQ(error_message(reply), message);
  }
  // Markup with no text left is 422, like an upload.
  r = gw.request("POST", "/api/v1/knowledge", a_admin,
                 {{"title", "Empty"}, {"text", "<p> </p>"}, {"content_type", "text/html"}});
  EXPECT_EQ(r.status, 422) << r.body;
}

}  // namespace
}  // namespace earshot::testing
