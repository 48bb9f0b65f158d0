// Knowledge-base uploads: plain text, Markdown, HTML and PDF through extract_text, then the
// chunks the embed stage cuts from the extracted text (with the default settings and with
// small ones). Input: one byte, then the document. The byte's two low bits pick the format
// ('0' text, '1' Markdown, '2' HTML, '3' PDF), bit 2 declares application/octet-stream with a
// file name of that format instead of the type itself ('4'-'7'), bits 3-7 the small chunk
// settings.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/rag/documents.hpp"

namespace rag = earshot::rag;

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// What chunk_document promises: chunks in order, each the text between its offsets, starting
// and ending on a word, within the word limit, with no word of the text left out.
void check_chunks(std::string_view text, const rag::ChunkSettings& settings) {
  const std::vector<rag::DocumentChunk> chunks = rag::chunk_document(text, settings);
  if (chunks.empty()) __builtin_trap();  // the text is trimmed and not empty: it has a word
  if (chunks.front().start != 0 || chunks.back().end != text.size()) __builtin_trap();
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const auto& c = chunks[i];
    if (c.index != static_cast<int>(i)) __builtin_trap();
    if (c.start >= c.end || c.end > text.size()) __builtin_trap();
    if (c.text != text.substr(c.start, c.end - c.start)) __builtin_trap();
    if (is_space(c.text.front()) || is_space(c.text.back())) __builtin_trap();
    if (c.words < 1 || c.words > std::max(1, settings.target_words)) __builtin_trap();
    if (i == 0) continue;
    const auto& p = chunks[i - 1];
    if (c.start <= p.start || c.end <= p.end) __builtin_trap();
    // Between the previous chunk's end and this one's start (when they do not overlap): only
    // whitespace.
    for (std::size_t k = p.end; k < c.start; ++k) {
      if (!is_space(text[k])) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kFileNames[] = {"notes.txt", "guide.md", "page.html", "manual.pdf"};
  const auto format = static_cast<rag::DocumentFormat>(data[0] % 4);
  const bool octet = (data[0] & 4) != 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  auto got = octet ? rag::extract_text(bytes, "application/octet-stream", kFileNames[data[0] % 4])
                   : rag::extract_text(bytes, rag::content_type_name(format), "");
  const auto expected_format = octet && bytes.starts_with("%PDF-") ? rag::DocumentFormat::kPdf : format;

  if (!got) {
    const auto& e = got.error();
    switch (e.failure) {
      case rag::ExtractFailure::kUnsupportedType:
        __builtin_trap();  // every input here declares one of the four formats
      case rag::ExtractFailure::kInvalidContent:
        if (e.error.code != earshot::ErrorCode::kInvalidArgument) __builtin_trap();
        break;
      case rag::ExtractFailure::kNoText:
        if (e.error.code != earshot::ErrorCode::kFailedPrecondition) __builtin_trap();
        break;
    }
  }
  if (expected_format != rag::DocumentFormat::kPdf) {
    // Text formats: refused as invalid content exactly when they are not UTF-8 (after a BOM).
    std::string_view text = bytes;
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    const bool invalid = !got && got.error().failure == rag::ExtractFailure::kInvalidContent;
    if (invalid == rag::is_valid_utf8(text)) __builtin_trap();
  }
  if (!got) return 0;

  // The header's promises: UTF-8, "\n" line ends, trimmed, never empty; a title is not empty.
  const rag::ExtractedDocument& doc = *got;
  if (doc.format != expected_format) __builtin_trap();
  if (doc.text.empty() || !rag::is_valid_utf8(doc.text)) __builtin_trap();
  if (doc.text.find('\r') != std::string::npos) __builtin_trap();
  if (is_space(doc.text.front()) || is_space(doc.text.back())) __builtin_trap();
  if (doc.title && (doc.title->empty() || !rag::is_valid_utf8(*doc.title))) __builtin_trap();

  check_chunks(doc.text, {});
  const int target = 1 + (data[0] >> 3);
  check_chunks(doc.text, {.target_words = target, .overlap_words = target / 2});
  return 0;
}
