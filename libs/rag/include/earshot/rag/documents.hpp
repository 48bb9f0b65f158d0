#pragma once
// Knowledge-base documents: plain text out of an upload, and the chunks that get embedded.
//
// extract_text turns the bytes of a plain text, Markdown, HTML or PDF upload into plain UTF-8
// text (paragraphs separated by a blank line, lines by "\n"). It fails in three distinct
// ways, told apart by ExtractFailure (not by parsing messages), which the knowledge routes
// map to HTTP statuses:
//
//   kUnsupportedType  415  not one of the four formats (error.code kInvalidArgument)
//   kInvalidContent   400  text that is not UTF-8, a broken or password-protected PDF
//                          (error.code kInvalidArgument, message says which)
//   kNoText           422  nothing to index: a PDF without a text layer (a scan) or a
//                          document that is empty once its markup is gone
//                          (error.code kFailedPrecondition)
//
// chunk_document cuts the text into overlapping chunks of about `target_words` words with
// [start, end) byte offsets into the text, so a citation can point into the document.
//
// Thread safety: both are pure functions. The first PDF extraction installs a process-wide
// poppler error handler that drops poppler's diagnostics (a malformed PDF is an answer, not
// something to print on stderr).

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/error.hpp"

namespace earshot::rag {

enum class DocumentFormat { kPlainText, kMarkdown, kHtml, kPdf };

// "text/plain", "text/markdown", "text/html", "application/pdf" (the values
// knowledge_documents.content_type stores).
[[nodiscard]] std::string_view content_type_name(DocumentFormat format);

// The format of an upload from its declared content type (parameters such as "; charset="
// ignored, case-insensitive; text/x-markdown and application/xhtml+xml accepted). When the
// declared type is empty or application/octet-stream: "%PDF-" at the start means PDF, else
// the file name's extension (.txt .text, .md .markdown, .html .htm, .pdf). nullopt when
// neither tells.
[[nodiscard]] std::optional<DocumentFormat> detect_format(std::string_view bytes, std::string_view content_type,
                                                          std::string_view filename);

struct ExtractedDocument {
  DocumentFormat format = DocumentFormat::kPlainText;
  std::string text;                  // UTF-8, "\n" line ends, trimmed, never empty
  std::optional<std::string> title;  // HTML <title> or first <h1>, Markdown's first heading, PDF Title
};

enum class ExtractFailure { kUnsupportedType, kInvalidContent, kNoText };

struct ExtractError {
  ExtractFailure failure = ExtractFailure::kInvalidContent;
  Error error;
};

[[nodiscard]] std::expected<ExtractedDocument, ExtractError> extract_text(std::string_view bytes,
                                                                          std::string_view content_type,
                                                                          std::string_view filename);

// The text conversions extract_text uses, for text already known to be valid UTF-8.
[[nodiscard]] ExtractedDocument markdown_to_text(std::string_view markdown);
[[nodiscard]] ExtractedDocument html_to_text(std::string_view html);

// Whether `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view s);

struct ChunkSettings {
  int target_words = 120;  // a chunk holds at most this many words (at least 1)
  int overlap_words = 20;  // about this many words of a chunk start the next (at most half the target)
};

struct DocumentChunk {
  int index = 0;
  std::size_t start = 0;  // [start, end): bytes of the chunked text; text == source.substr(start, end - start)
  std::size_t end = 0;
  int words = 0;
  std::string text;
};

// Words are runs of non-whitespace. A chunk ends, within its word limit, preferably at a
// paragraph end (blank line), else at a sentence end (. ! ? maybe followed by a closing
// quote or bracket), else at a line end, each preferred in the second half of the limit;
// with none of them, the text is cut at the word limit (never inside a word). The next chunk
// starts at the earliest sentence (else line) start within the last `overlap_words` words,
// else exactly `overlap_words` words back. Empty for a text without words.
[[nodiscard]] std::vector<DocumentChunk> chunk_document(std::string_view text, const ChunkSettings& settings = {});

}  // namespace earshot::rag
