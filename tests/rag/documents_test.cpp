#include "earshot/rag/documents.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

namespace earshot::rag {
namespace {

// A minimal PDF: one page whose content stream is `content`, with Helvetica as F1 and an Info
// dictionary titled `title`. The xref table holds each object's real byte offset.
std::string make_pdf(const std::string& content, const std::string& title) {
  std::vector<std::string> objects{
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
      "/Resources << /Font << /F1 5 0 R >> >> >>",
      "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
      "<< /Title (" + title + ") >>",
  };
  std::string pdf = "%PDF-1.4\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const std::size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (const std::size_t off : offsets) {
    char entry[21];
    std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", off);
    pdf += entry;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R /Info 6 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

ExtractedDocument extract_ok(std::string_view bytes, std::string_view type, std::string_view name = "") {
  auto r = extract_text(bytes, type, name);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().error.to_string());
  return r ? *r : ExtractedDocument{};
}

ExtractError extract_error(std::string_view bytes, std::string_view type, std::string_view name = "") {
  auto r = extract_text(bytes, type, name);
  EXPECT_FALSE(r.has_value()) << "extracted: " << (r ? r->text : "");
  return r ? ExtractError{} : r.error();
}

TEST(DetectFormat, DeclaredTypeThenMagicBytesThenExtension) {
  EXPECT_EQ(detect_format("x", "text/plain; charset=utf-8", ""), DocumentFormat::kPlainText);
  EXPECT_EQ(detect_format("x", "Text/Markdown", ""), DocumentFormat::kMarkdown);
  EXPECT_EQ(detect_format("x", "text/x-markdown", ""), DocumentFormat::kMarkdown);
  EXPECT_EQ(detect_format("x", "text/html;charset=UTF-8", ""), DocumentFormat::kHtml);
  EXPECT_EQ(detect_format("x", "application/pdf", "a.txt"), DocumentFormat::kPdf) << "a declared type wins";
  EXPECT_EQ(detect_format("%PDF-1.7 ...", "application/octet-stream", "scan.bin"), DocumentFormat::kPdf);
  EXPECT_EQ(detect_format("%PDF-1.7 ...", "", ""), DocumentFormat::kPdf);
  EXPECT_EQ(detect_format("# hi", "application/octet-stream", "notes.MD"), DocumentFormat::kMarkdown);
  EXPECT_EQ(detect_format("<p>", "", "page.htm"), DocumentFormat::kHtml);
  EXPECT_EQ(detect_format("hi", "", "readme.txt"), DocumentFormat::kPlainText);
  EXPECT_EQ(detect_format("PK\x03\x04", "application/octet-stream", "deck.pptx"), std::nullopt);
  EXPECT_EQ(detect_format("GIF89a", "image/gif", "a.txt"), std::nullopt) << "a declared unsupported type is final";
  EXPECT_EQ(content_type_name(DocumentFormat::kMarkdown), "text/markdown");
  EXPECT_EQ(content_type_name(DocumentFormat::kPdf), "application/pdf");
}

TEST(ExtractText, PlainTextIsTidiedNotRewritten) {
  const auto doc =
      extract_ok("\xEF\xBB\xBFLine one  \r\nline two\r\n\r\n\r\n\n  Second\tparagraph.\x01\n", "text/plain");
  EXPECT_EQ(doc.format, DocumentFormat::kPlainText);
  EXPECT_EQ(doc.text, "Line one\nline two\n\n  Second\tparagraph.");
  EXPECT_FALSE(doc.title);
}

TEST(ExtractText, TextMustBeValidUtf8) {
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC0\x80")) << "overlong NUL";
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF")) << "overlong slash";
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80")) << "surrogate";
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80")) << "past U+10FFFF";
  EXPECT_FALSE(is_valid_utf8("abc\xE2\x82")) << "truncated";
  EXPECT_FALSE(is_valid_utf8("\x80")) << "lone continuation";
  for (const auto* type : {"text/plain", "text/markdown", "text/html"}) {
    const auto e = extract_error("price: 10\xFF euros", type);
    EXPECT_EQ(e.failure, ExtractFailure::kInvalidContent) << type;
    EXPECT_EQ(e.error.code, ErrorCode::kInvalidArgument) << type;
    EXPECT_EQ(e.error.message, "the document is not valid UTF-8 text");
  }
}

TEST(ExtractText, MarkdownKeepsTheWordsAndDropsTheSyntax) {
  const std::string md =
      "# Refund *policy*\n"
      "\n"
      "Customers on the **Blue plan** get a _full_ refund within 30 days; see the "
      "[billing page](https://example.com/billing \"Billing\").\n"
      "![a screenshot](shot.png)\n"
      "\n"
      "## Steps\n"
      "\n"
      "- Open `refund_request` in the CRM\n"
      "2. Confirm the ~~old~~ amount\n"
      "> Never promise a date.\n"
      "\n"
      "---\n"
      "```sh\n"
      "crm refund --id 42 *now*\n"
      "```\n"
      "| plan | days |\n"
      "|------|------|\n"
      "| Blue | 30 |\n"
      "[billing]: https://example.com\n";
  const auto doc = extract_ok(md, "text/markdown");
  EXPECT_EQ(doc.format, DocumentFormat::kMarkdown);
  EXPECT_EQ(doc.title, "Refund policy");
  EXPECT_EQ(doc.text,
            "Refund policy\n\n"
            "Customers on the Blue plan get a full refund within 30 days; see the billing page.\n\n"
            "Steps\n\n"
            "Open refund_request in the CRM\n"
            "Confirm the old amount\n"
            "Never promise a date.\n\n"
            "crm refund --id 42 *now*\n\n"
            "plan days\n"
            "Blue 30");
}

TEST(ExtractText, MarkdownSetextHeadingIsTheTitle) {
  const auto doc = extract_ok("Billing FAQ\n===========\n\nAsk about invoices.\n", "text/markdown");
  EXPECT_EQ(doc.title, "Billing FAQ");
  EXPECT_EQ(doc.text, "Billing FAQ\n\nAsk about invoices.");
}

TEST(ExtractText, HtmlDropsScriptsStylesAndHeadAndDecodesEntities) {
  const std::string html =
      "<!DOCTYPE html><html><head><title>Refunds &amp; Credits</title>"
      "<style>p { color: red }</style><meta charset=\"utf-8\"></head>\n"
      "<body><script>var x = '<p>not text</p>';</script>"
      "<h1>Refund   policy</h1>\n<p>Fees are &lt;&nbsp;5&euro; &#8212; caf&#233; &#x1F600; &unknown; &#0;</p>"
      "<!-- <p>a comment</p> --><div>Line one<br>Line two</div>"
      "<table><tr><td>Blue</td><td>30 days</td></tr><tr><td>Red</td><td>14 days</td></tr></table>"
      "<ul><li>First</li><li>Second <b>bold</b> item</li></ul></body></html>";
  const auto doc = extract_ok(html, "text/html");
  EXPECT_EQ(doc.format, DocumentFormat::kHtml);
  EXPECT_EQ(doc.title, "Refunds & Credits");
  EXPECT_EQ(doc.text,
            "Refund policy\n\n"
            "Fees are < 5\xE2\x82\xAC \xE2\x80\x94 caf\xC3\xA9 \xF0\x9F\x98\x80 &unknown; \xEF\xBF\xBD\n\n"
            "Line one\nLine two\n\n"
            "Blue 30 days\n\n"
            "Red 14 days\n\n"
            "First\n\n"
            "Second bold item");
}

TEST(ExtractText, HtmlTitleFallsBackToTheFirstHeading) {
  const auto doc = extract_ok("<body><h1>Shipping <i>times</i></h1><h1>Other</h1><p>Two days.</p></body>", "text/html");
  EXPECT_EQ(doc.title, "Shipping times");
  EXPECT_EQ(doc.text, "Shipping times\n\nOther\n\nTwo days.");
}

TEST(ExtractText, PdfTextLayerAndTitle) {
  const std::string pdf = make_pdf(
      "BT /F1 18 Tf 72 700 Td (Refunds take five days.) Tj 0 -30 Td (Call billing first.) Tj ET", "Refund Guide");
  const auto doc = extract_ok(pdf, "application/octet-stream", "guide.bin");
  EXPECT_EQ(doc.format, DocumentFormat::kPdf);
  EXPECT_EQ(doc.title, "Refund Guide");
  EXPECT_NE(doc.text.find("Refunds take five days."), std::string::npos) << doc.text;
  EXPECT_NE(doc.text.find("Call billing first."), std::string::npos) << doc.text;
  EXPECT_LT(doc.text.find("Refunds"), doc.text.find("Call")) << "reading order";
}

TEST(ExtractText, PdfWithoutTextLayerIsNoText) {
  const auto e = extract_error(make_pdf("0 0 m 300 300 l S", "Scan"), "application/pdf");
  EXPECT_EQ(e.failure, ExtractFailure::kNoText);
  EXPECT_EQ(e.error.code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(e.error.message, "the PDF has no text layer (scanned?)");
}

TEST(ExtractText, BrokenPdfIsInvalidContent) {
  const auto e = extract_error("%PDF-1.4\nthis is not a PDF at all\n", "application/pdf");
  EXPECT_EQ(e.failure, ExtractFailure::kInvalidContent);
  EXPECT_EQ(e.error.code, ErrorCode::kInvalidArgument);
  EXPECT_NE(e.error.message.find("cannot be read"), std::string::npos) << e.error.message;
}

TEST(ExtractText, UnsupportedTypesAreToldApart) {
  for (const auto& [type, name] : std::vector<std::pair<std::string, std::string>>{
           {"image/png", "a.png"}, {"application/octet-stream", "deck.pptx"}, {"", "noext"}}) {
    const auto e = extract_error("\x89PNG....", type, name);
    EXPECT_EQ(e.failure, ExtractFailure::kUnsupportedType) << type << " " << name;
    EXPECT_EQ(e.error.code, ErrorCode::kInvalidArgument);
    EXPECT_NE(e.error.message.find("unsupported document type"), std::string::npos);
  }
}

TEST(ExtractText, NothingLeftIsNoText) {
  for (const auto& [bytes, type] :
       std::vector<std::pair<std::string, std::string>>{{" \n\t\n", "text/plain"},
                                                        {"<script>x()</script><p>  </p>", "text/html"},
                                                        {"![only](img.png)\n", "text/markdown"}}) {
    const auto e = extract_error(bytes, type);
    EXPECT_EQ(e.failure, ExtractFailure::kNoText) << type;
    EXPECT_EQ(e.error.code, ErrorCode::kFailedPrecondition);
  }
}

// ---- chunking ------------------------------------------------------------------------------

// "s<n>w1 ... s<n>w<k-1> s<n>end." : a sentence of k words, numbered.
std::string sentence(int n, int words) {
  std::string s;
  for (int w = 1; w < words; ++w) s += "s" + std::to_string(n) + "w" + std::to_string(w) + " ";
  return s + "s" + std::to_string(n) + "end.";
}

int count_words(std::string_view s) {
  int n = 0;
  bool in_word = false;
  for (char c : s) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

// What every chunking must hold: offsets point at the chunk text, chunks start and end at word
// edges, stay within the word limit, are numbered, and together cover every word in order.
void expect_well_formed(std::string_view text, const std::vector<DocumentChunk>& chunks, const ChunkSettings& s) {
  ASSERT_FALSE(chunks.empty());
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const auto& c = chunks[i];
    EXPECT_EQ(c.index, static_cast<int>(i));
    ASSERT_LT(c.start, c.end);
    ASSERT_LE(c.end, text.size());
    EXPECT_EQ(c.text, text.substr(c.start, c.end - c.start));
    EXPECT_TRUE(c.start == 0 || std::isspace(static_cast<unsigned char>(text[c.start - 1])) != 0) << i;
    EXPECT_TRUE(c.end == text.size() || std::isspace(static_cast<unsigned char>(text[c.end])) != 0) << i;
    EXPECT_EQ(c.words, count_words(c.text));
    EXPECT_LE(c.words, s.target_words);
    if (i > 0) {
      EXPECT_GT(c.start, chunks[i - 1].start);
      EXPECT_GT(c.end, chunks[i - 1].end);
      if (c.start > chunks[i - 1].end) {
        const auto gap = text.substr(chunks[i - 1].end, c.start - chunks[i - 1].end);
        EXPECT_EQ(gap.find_first_not_of(" \n\t"), std::string_view::npos) << "words skipped before chunk " << i;
      }
    }
  }
  EXPECT_EQ(chunks.front().start, text.find_first_not_of(" \n\t"));
  EXPECT_EQ(chunks.back().end, text.find_last_not_of(" \n\t") + 1);
}

TEST(ChunkDocument, ShortTextIsOneChunk) {
  const std::string text = "  Refunds take five days.\n\nCall billing first.  ";
  const auto chunks = chunk_document(text);
  ASSERT_EQ(chunks.size(), 1U);
  EXPECT_EQ(chunks[0].text, "Refunds take five days.\n\nCall billing first.");
  EXPECT_EQ(chunks[0].start, 2U);
  EXPECT_EQ(chunks[0].words, 7);
  EXPECT_TRUE(chunk_document(" \n\t ").empty());
}

TEST(ChunkDocument, SplitsAtParagraphsAndOverlapsByWholeSentences) {
  // Three paragraphs of five 10-word sentences (150 words).
  std::string text;
  for (int p = 0; p < 3; ++p) {
    if (p > 0) text += "\n\n";
    for (int s = 0; s < 5; ++s) text += (s ? " " : "") + sentence(p * 5 + s, 10);
  }
  const ChunkSettings settings{120, 20};
  const auto chunks = chunk_document(text, settings);
  expect_well_formed(text, chunks, settings);
  ASSERT_EQ(chunks.size(), 2U);
  EXPECT_EQ(chunks[0].words, 100) << "the second paragraph's end, not mid-paragraph at 120";
  EXPECT_TRUE(chunks[0].text.ends_with("s9end."));
  EXPECT_TRUE(chunks[1].text.starts_with("s8w1 ")) << "the last two sentences (20 words) again";
  EXPECT_EQ(chunks[1].words, 70);
}

TEST(ChunkDocument, LongParagraphSplitsBySentence) {
  std::string text;
  for (int s = 0; s < 25; ++s) text += (s ? " " : "") + sentence(s, 7);  // 175 words
  const ChunkSettings settings{120, 20};
  const auto chunks = chunk_document(text, settings);
  expect_well_formed(text, chunks, settings);
  ASSERT_EQ(chunks.size(), 2U);
  EXPECT_EQ(chunks[0].words, 119) << "17 whole sentences";
  EXPECT_TRUE(chunks[0].text.ends_with("s16end."));
  // The overlap starts at the earliest sentence start among the last 20 words (99..118):
  // sentence 15, at word 105.
  EXPECT_TRUE(chunks[1].text.starts_with("s15w1 ")) << chunks[1].text.substr(0, 40);
  EXPECT_EQ(chunks[1].words, 175 - 105);
}

TEST(ChunkDocument, AGiantSentenceIsCutAtTheWordLimitWithExactOverlap) {
  std::string text;
  for (int w = 0; w < 300; ++w) text += (w ? " w" : "w") + std::to_string(w);
  const ChunkSettings settings{120, 20};
  const auto chunks = chunk_document(text, settings);
  expect_well_formed(text, chunks, settings);
  ASSERT_EQ(chunks.size(), 3U);
  EXPECT_EQ(chunks[0].words, 120);
  EXPECT_TRUE(chunks[0].text.ends_with(" w119"));
  EXPECT_TRUE(chunks[1].text.starts_with("w100 "));
  EXPECT_TRUE(chunks[1].text.ends_with(" w219"));
  EXPECT_TRUE(chunks[2].text.starts_with("w200 "));
  EXPECT_EQ(chunks[2].words, 100);
}

TEST(ChunkDocument, NoOverlapAndOddSettings) {
  std::string text;
  for (int s = 0; s < 30; ++s) text += (s % 4 == 0 && s ? "\n\n" : " ") + sentence(s, 6);
  text = std::string(text.substr(1));
  for (const ChunkSettings settings : {ChunkSettings{50, 0}, ChunkSettings{7, 3}, ChunkSettings{1, 5}}) {
    const auto chunks = chunk_document(text, settings);
    expect_well_formed(text, chunks, settings);
    if (settings.overlap_words == 0) {
      for (std::size_t i = 1; i < chunks.size(); ++i) EXPECT_GT(chunks[i].start, chunks[i - 1].end);
    }
  }
  const ChunkSettings one{1, 0};
  EXPECT_EQ(chunk_document("a b c", one).size(), 3U);
}

TEST(ChunkDocument, OffsetsAreBytesOfUtf8Text) {
  std::string text;
  for (int w = 0; w < 30; ++w) text += "caf\xC3\xA9\xE2\x82\xAC ";
  const ChunkSettings settings{10, 2};
  const auto chunks = chunk_document(text, settings);
  expect_well_formed(text, chunks, settings);
  EXPECT_EQ(chunks[1].start, 8U * 9U) << "word 8 (words of 8 bytes and a space)";
}

}  // namespace
}  // namespace earshot::rag
