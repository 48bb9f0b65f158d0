#include "earshot/rag/documents.hpp"

#include <fmt/format.h>
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace earshot::rag {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(s[i]) != lower(prefix[i])) return false;
  }
  return true;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Line ends become "\n", control characters other than tab and newline go, each line loses
// its trailing blanks, runs of blank lines become one, and the whole is trimmed.
std::string tidy(std::string_view in) {
  std::string lines;
  lines.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\r') {
      if (i + 1 < in.size() && in[i + 1] == '\n') continue;
      lines += '\n';
    } else if (c == '\f' || c == '\v') {
      lines += '\n';
    } else if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
      continue;
    } else {
      lines += c;
    }
  }
  std::string out;
  out.reserve(lines.size());
  int blank_run = 0;
  std::size_t pos = 0;
  while (pos <= lines.size()) {
    std::size_t nl = lines.find('\n', pos);
    if (nl == std::string::npos) nl = lines.size();
    std::string_view line(lines.data() + pos, nl - pos);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (trim(line).empty()) {
      ++blank_run;
    } else {
      if (!out.empty()) out += blank_run > 0 ? "\n\n" : "\n";
      blank_run = 0;
      out += line;
    }
    pos = nl + 1;
  }
  const std::size_t first = out.find_first_not_of(" \t");
  return first == std::string::npos ? std::string() : out.substr(first);
}

std::unexpected<ExtractError> fail(ExtractFailure f, ErrorCode code, std::string message) {
  return std::unexpected(ExtractError{f, Error(code, std::move(message))});
}

// ---- Markdown ------------------------------------------------------------------------------

// Removes inline syntax from one line: images, link targets, code ticks, emphasis markers.
std::string markdown_inline(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size() && std::ispunct(static_cast<unsigned char>(s[i + 1])) != 0) {
      out += s[i + 1];
      i += 2;
    } else if (c == '`') {
      std::size_t ticks = 0;
      while (i + ticks < s.size() && s[i + ticks] == '`') ++ticks;
      const std::string fence(ticks, '`');
      const std::size_t close = s.find(fence, i + ticks);
      if (close == std::string_view::npos) {
        out.append(s.substr(i, ticks));
        i += ticks;
      } else {
        out.append(trim(s.substr(i + ticks, close - i - ticks)));
        i = close + ticks;
      }
    } else if ((c == '!' && i + 1 < s.size() && s[i + 1] == '[') || c == '[') {
      const bool image = c == '!';
      const std::size_t open = image ? i + 1 : i;
      const std::size_t close = s.find(']', open);
      if (close == std::string_view::npos) {
        out += c;
        ++i;
        continue;
      }
      const std::string_view label = s.substr(open + 1, close - open - 1);
      std::size_t next = close + 1;
      if (next < s.size() && s[next] == '(') {
        const std::size_t end = s.find(')', next);
        next = end == std::string_view::npos ? s.size() : end + 1;
      } else if (next < s.size() && s[next] == '[') {
        const std::size_t end = s.find(']', next);
        next = end == std::string_view::npos ? s.size() : end + 1;
      }
      if (!image) out += markdown_inline(label);
      i = next;
    } else if (c == '<' && (starts_with_ci(s.substr(i + 1), "http://") || starts_with_ci(s.substr(i + 1), "https://") ||
                            starts_with_ci(s.substr(i + 1), "mailto:"))) {
      const std::size_t close = s.find('>', i);
      if (close == std::string_view::npos) {
        out += c;
        ++i;
      } else {
        out.append(s.substr(i + 1, close - i - 1));
        i = close + 1;
      }
    } else if (c == '*' || (c == '~' && i + 1 < s.size() && s[i + 1] == '~')) {
      while (i < s.size() && s[i] == c) ++i;
    } else if (c == '_') {
      // Emphasis only at a word's edge: snake_case keeps its underscores.
      std::size_t run = 0;
      while (i + run < s.size() && s[i + run] == '_') ++run;
      const bool inside = i > 0 && is_word(s[i - 1]) && i + run < s.size() && is_word(s[i + run]);
      if (inside) out.append(run, '_');
      i += run;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

bool is_rule(std::string_view line) {
  line = trim(line);
  if (line.size() < 3) return false;
  const char c = line[0];
  if (c != '-' && c != '*' && c != '_') return false;
  int n = 0;
  for (char d : line) {
    if (d == c) {
      ++n;
    } else if (d != ' ') {
      return false;
    }
  }
  return n >= 3;
}

bool is_table_separator(std::string_view line) {
  line = trim(line);
  if (line.find('-') == std::string_view::npos || line.find('|') == std::string_view::npos) return false;
  return std::all_of(line.begin(), line.end(), [](char c) { return c == '|' || c == '-' || c == ':' || c == ' '; });
}

// Strips block markers: quote '>' marks, list bullets and numbers.
std::string_view strip_block_markers(std::string_view line) {
  for (;;) {
    std::string_view t = line;
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    if (!t.empty() && t.front() == '>') {
      line = t.substr(1);
      continue;
    }
    if (t.size() >= 2 && (t[0] == '-' || t[0] == '*' || t[0] == '+') && t[1] == ' ') return t.substr(2);
    std::size_t digits = 0;
    while (digits < t.size() && digits < 9 && std::isdigit(static_cast<unsigned char>(t[digits])) != 0) ++digits;
    if (digits > 0 && digits + 1 < t.size() && (t[digits] == '.' || t[digits] == ')') && t[digits + 1] == ' ') {
      return t.substr(digits + 2);
    }
    return t;
  }
}

// ---- HTML ----------------------------------------------------------------------------------

struct Entity {
  std::string_view name;
  std::uint32_t cp;
};

constexpr std::array<Entity, 44> kEntities{{
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},      {"apos", '\''},    {"nbsp", ' '},
    {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122}, {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013},
    {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D},  {"bull", 0x2022},  {"middot", 0xB7},
    {"euro", 0x20AC},  {"pound", 0xA3},   {"yen", 0xA5},     {"cent", 0xA2},     {"sect", 0xA7},    {"deg", 0xB0},
    {"plusmn", 0xB1},  {"times", 0xD7},   {"divide", 0xF7},  {"frac12", 0xBD},   {"laquo", 0xAB},   {"raquo", 0xBB},
    {"eacute", 0xE9},  {"egrave", 0xE8},  {"agrave", 0xE0},  {"aacute", 0xE1},   {"ccedil", 0xE7},  {"uuml", 0xFC},
    {"ouml", 0xF6},    {"auml", 0xE4},    {"szlig", 0xDF},   {"ntilde", 0xF1},   {"iacute", 0xED},  {"oacute", 0xF3},
    {"uacute", 0xFA},  {"rarr", 0x2192},
}};

// Decodes the entity at s[0] == '&' into out; returns the bytes consumed (0: not an entity).
std::size_t decode_entity(std::string_view s, std::string& out) {
  const std::size_t semi = s.find(';');
  if (semi == std::string_view::npos || semi < 2 || semi > 12) return 0;
  const std::string_view body = s.substr(1, semi - 1);
  if (body[0] == '#') {
    const bool hex = body.size() > 1 && (body[1] == 'x' || body[1] == 'X');
    const std::string_view digits = body.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    std::uint32_t cp = 0;
    for (char c : digits) {
      int v = -1;
      if (c >= '0' && c <= '9') v = c - '0';
      if (hex && c >= 'a' && c <= 'f') v = c - 'a' + 10;
      if (hex && c >= 'A' && c <= 'F') v = c - 'A' + 10;
      if (v < 0) return 0;
      cp = std::min<std::uint32_t>(cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v), 0x110000);
    }
    append_utf8(out, cp);
    return semi + 1;
  }
  for (const auto& e : kEntities) {
    if (e.name == body) {
      append_utf8(out, e.cp);
      return semi + 1;
    }
  }
  return 0;
}

std::string decode_entities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '&') {
      if (const std::size_t n = decode_entity(s.substr(i), out); n > 0) {
        i += n;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

// Elements that end a paragraph (table cells only separate words: a row is one line).
constexpr std::array<std::string_view, 36> kBlockTags{
    "p",      "div",    "br",     "li",         "ul",    "ol",         "h1",    "h2",      "h3",
    "h4",     "h5",     "h6",     "tr",         "table", "thead",      "tbody", "section", "article",
    "header", "footer", "nav",    "aside",      "main",  "blockquote", "pre",   "hr",      "dl",
    "dt",     "dd",     "figure", "figcaption", "form",  "address",    "title", "body",    "html"};

// Elements whose content is never text of the document.
constexpr std::array<std::string_view, 7> kSkippedTags{"script",   "style", "head",  "noscript",
                                                       "template", "svg",   "iframe"};

bool contains(auto const& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// Appends text with runs of whitespace folded to one space (outside <pre>).
void append_text(std::string& out, std::string_view text, bool pre) {
  if (pre) {
    out += text;
    return;
  }
  for (char c : text) {
    if (is_space(c)) {
      if (!out.empty() && out.back() != ' ' && out.back() != '\n') out += ' ';
    } else {
      out += c;
    }
  }
}

std::string collapse_spaces(std::string_view s) {
  std::string out;
  append_text(out, s, false);
  return std::string(trim(out));
}

// ---- PDF -----------------------------------------------------------------------------------

void quiet_poppler() {
  static std::once_flag once;
  std::call_once(once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

std::string utf8_of(const poppler::ustring& s) {
  const poppler::byte_array bytes = s.to_utf8();
  return {bytes.begin(), bytes.end()};
}

std::expected<ExtractedDocument, ExtractError> pdf_to_text(std::string_view bytes) {
  quiet_poppler();
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    return fail(ExtractFailure::kInvalidContent, ErrorCode::kInvalidArgument, "the PDF is too large");
  }
  std::unique_ptr<poppler::document> doc(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!doc) {
    return fail(ExtractFailure::kInvalidContent, ErrorCode::kInvalidArgument,
                "the PDF cannot be read (damaged, or encrypted with a password)");
  }
  if (doc->is_locked()) {
    return fail(ExtractFailure::kInvalidContent, ErrorCode::kInvalidArgument, "the PDF is protected by a password");
  }
  std::string text;
  for (int i = 0; i < doc->pages(); ++i) {
    std::unique_ptr<poppler::page> page(doc->create_page(i));
    if (!page) continue;
    std::string page_text = utf8_of(page->text());
    if (!is_valid_utf8(page_text)) continue;
    if (!text.empty()) text += "\n\n";
    text += page_text;
  }
  ExtractedDocument out;
  out.format = DocumentFormat::kPdf;
  out.text = tidy(text);
  if (out.text.empty()) {
    return fail(ExtractFailure::kNoText, ErrorCode::kFailedPrecondition, "the PDF has no text layer (scanned?)");
  }
  std::string title = collapse_spaces(utf8_of(doc->get_title()));
  if (!title.empty() && is_valid_utf8(title)) out.title = std::move(title);
  return out;
}

}  // namespace

std::string_view content_type_name(DocumentFormat format) {
  switch (format) {
    case DocumentFormat::kPlainText:
      return "text/plain";
    case DocumentFormat::kMarkdown:
      return "text/markdown";
    case DocumentFormat::kHtml:
      return "text/html";
    case DocumentFormat::kPdf:
      return "application/pdf";
  }
  return "text/plain";
}

std::optional<DocumentFormat> detect_format(std::string_view bytes, std::string_view content_type,
                                            std::string_view filename) {
  std::string declared = to_lower(trim(content_type.substr(0, content_type.find(';'))));
  if (declared == "text/plain") return DocumentFormat::kPlainText;
  if (declared == "text/markdown" || declared == "text/x-markdown") return DocumentFormat::kMarkdown;
  if (declared == "text/html" || declared == "application/xhtml+xml") return DocumentFormat::kHtml;
  if (declared == "application/pdf") return DocumentFormat::kPdf;
  if (!declared.empty() && declared != "application/octet-stream") return std::nullopt;
  if (bytes.starts_with("%PDF-")) return DocumentFormat::kPdf;
  const std::size_t dot = filename.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string ext = to_lower(filename.substr(dot + 1));
  if (ext == "txt" || ext == "text") return DocumentFormat::kPlainText;
  if (ext == "md" || ext == "markdown") return DocumentFormat::kMarkdown;
  if (ext == "html" || ext == "htm") return DocumentFormat::kHtml;
  if (ext == "pdf") return DocumentFormat::kPdf;
  return std::nullopt;
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

ExtractedDocument markdown_to_text(std::string_view markdown) {
  ExtractedDocument doc;
  doc.format = DocumentFormat::kMarkdown;
  std::string out;
  std::optional<std::string> first_heading;
  std::string fence;  // the open code fence ("```" or "~~~"), empty outside code
  std::string previous;
  std::size_t pos = 0;
  while (pos <= markdown.size()) {
    std::size_t nl = markdown.find('\n', pos);
    if (nl == std::string_view::npos) nl = markdown.size();
    std::string_view line = markdown.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    const std::string_view t = trim(line);
    if (!fence.empty()) {
      if (t.starts_with(fence)) {
        fence.clear();
        out += '\n';
      } else {
        out += line;
        out += '\n';
      }
      continue;
    }
    if (t.starts_with("```") || t.starts_with("~~~")) {
      fence = std::string(t.substr(0, 3));
      out += '\n';
      continue;
    }
    // A setext underline turns the line before into a heading: drop the underline.
    const bool underline = !t.empty() && !previous.empty() &&
                           std::all_of(t.begin(), t.end(), [](char c) { return c == '=' || c == '-'; }) &&
                           (t.front() == '=' || t.size() >= 2);
    if (underline) {
      if (!first_heading) first_heading = previous;
      out += '\n';
      previous.clear();
      continue;
    }
    if (is_table_separator(t)) continue;
    if (is_rule(t)) {
      out += '\n';
      previous.clear();
      continue;
    }
    // A reference definition "[label]: url" is not text.
    if (t.starts_with('[') && t.find("]:") != std::string_view::npos) {
      previous.clear();
      continue;
    }
    std::string text;
    if (t.starts_with('#')) {
      std::string_view h = t;
      while (h.starts_with('#')) h.remove_prefix(1);
      while (h.ends_with('#')) h.remove_suffix(1);
      text = collapse_spaces(markdown_inline(trim(h)));
      if (!first_heading && !text.empty()) first_heading = text;
      out += '\n';
      out += text;
      out += "\n\n";
      previous.clear();
      continue;
    }
    text = markdown_inline(strip_block_markers(line));
    if (text.find('|') != std::string::npos && t.starts_with('|')) {
      std::replace(text.begin(), text.end(), '|', ' ');
      text = collapse_spaces(text);
    }
    out += text;
    out += '\n';
    previous = std::string(trim(text));
  }
  doc.text = tidy(out);
  if (first_heading && !first_heading->empty()) doc.title = std::move(first_heading);
  return doc;
}

ExtractedDocument html_to_text(std::string_view html) {
  ExtractedDocument doc;
  doc.format = DocumentFormat::kHtml;
  std::string out;
  std::string title;
  std::string first_h1;
  std::string skipping;  // the element whose content is being skipped
  bool in_title = false;
  bool in_h1 = false;
  int pre_depth = 0;
  std::size_t i = 0;
  while (i < html.size()) {
    if (html.substr(i).starts_with("<!--")) {
      const std::size_t end = html.find("-->", i + 4);
      i = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    if (html[i] == '<') {
      const std::size_t end = html.find('>', i);
      if (end == std::string_view::npos) break;
      std::string_view tag = html.substr(i + 1, end - i - 1);
      i = end + 1;
      const bool closing = tag.starts_with('/');
      if (closing) tag.remove_prefix(1);
      std::size_t name_end = 0;
      while (name_end < tag.size() && std::isalnum(static_cast<unsigned char>(tag[name_end])) != 0) ++name_end;
      const std::string name = to_lower(tag.substr(0, name_end));
      if (name.empty()) continue;  // <!DOCTYPE ...>, <?xml ...?>
      if (!skipping.empty()) {
        if (closing && name == skipping) skipping.clear();
        // <title> lives in <head>: read it there.
        if (name == "title") in_title = !closing;
        continue;
      }
      if (!closing && contains(kSkippedTags, name) && !tag.ends_with('/')) {
        skipping = name;
        continue;
      }
      if (name == "title") in_title = !closing;
      if (name == "h1") in_h1 = !closing && first_h1.empty();
      if (name == "pre") pre_depth = std::max(0, pre_depth + (closing ? -1 : 1));
      if (name == "br") {
        out += '\n';
      } else if (contains(kBlockTags, name)) {
        out += "\n\n";
      } else if (name == "td" || name == "th") {
        append_text(out, " ", false);
      }
      continue;
    }
    const std::size_t next = html.find('<', i);
    const std::string_view raw = html.substr(i, (next == std::string_view::npos ? html.size() : next) - i);
    i = next == std::string_view::npos ? html.size() : next;
    if (!skipping.empty() && !in_title) continue;
    const std::string text = decode_entities(raw);
    if (in_title) {
      title += text;
      continue;
    }
    if (in_h1) first_h1 += text;
    append_text(out, text, pre_depth > 0);
  }
  // Spaces folded next to line breaks.
  std::string cleaned;
  cleaned.reserve(out.size());
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (out[k] == ' ' && ((k + 1 < out.size() && out[k + 1] == '\n') || (!cleaned.empty() && cleaned.back() == '\n'))) {
      continue;
    }
    cleaned += out[k];
  }
  doc.text = tidy(cleaned);
  std::string t = collapse_spaces(title);
  if (t.empty()) t = collapse_spaces(first_h1);
  if (!t.empty()) doc.title = std::move(t);
  return doc;
}

std::expected<ExtractedDocument, ExtractError> extract_text(std::string_view bytes, std::string_view content_type,
                                                            std::string_view filename) {
  const auto format = detect_format(bytes, content_type, filename);
  if (!format) {
    return fail(ExtractFailure::kUnsupportedType, ErrorCode::kInvalidArgument,
                fmt::format("unsupported document type '{}': upload plain text, Markdown, HTML or PDF",
                            content_type.empty() ? filename : content_type));
  }
  if (*format == DocumentFormat::kPdf) return pdf_to_text(bytes);
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  if (!is_valid_utf8(bytes)) {
    return fail(ExtractFailure::kInvalidContent, ErrorCode::kInvalidArgument, "the document is not valid UTF-8 text");
  }
  ExtractedDocument doc;
  switch (*format) {
    case DocumentFormat::kMarkdown:
      doc = markdown_to_text(bytes);
      break;
    case DocumentFormat::kHtml:
      doc = html_to_text(bytes);
      break;
    default:
      doc.format = DocumentFormat::kPlainText;
      doc.text = tidy(bytes);
      break;
  }
  if (doc.text.empty()) {
    return fail(ExtractFailure::kNoText, ErrorCode::kFailedPrecondition, "the document has no text");
  }
  return doc;
}

// ---- chunking ------------------------------------------------------------------------------

namespace {

struct Word {
  std::size_t start = 0;
  std::size_t end = 0;
  int boundary = 0;  // after this word: 3 paragraph end, 2 sentence end, 1 line end, 0 none
};

bool ends_sentence(std::string_view word) {
  while (!word.empty()) {
    const char c = word.back();
    if (c == '"' || c == '\'' || c == ')' || c == ']') {
      word.remove_suffix(1);
    } else if (word.ends_with("\xE2\x80\x9D") || word.ends_with("\xE2\x80\x99")) {  // ” ’
      word.remove_suffix(3);
    } else {
      break;
    }
  }
  return word.ends_with('.') || word.ends_with('!') || word.ends_with('?') || word.ends_with("\xE2\x80\xA6");
}

std::vector<Word> split_words(std::string_view text) {
  std::vector<Word> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    if (i == text.size()) break;
    Word w;
    w.start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    w.end = i;
    int newlines = 0;
    for (std::size_t k = i; k < text.size() && is_space(text[k]); ++k) newlines += text[k] == '\n' ? 1 : 0;
    const bool last =
        i == text.size() || std::all_of(text.begin() + static_cast<std::ptrdiff_t>(i), text.end(), is_space);
    if (last || newlines >= 2) {
      w.boundary = 3;
    } else if (ends_sentence(text.substr(w.start, w.end - w.start))) {
      w.boundary = 2;
    } else if (newlines == 1) {
      w.boundary = 1;
    }
    words.push_back(w);
  }
  return words;
}

// The end (exclusive word index) of the chunk whose words may run over (lo, hi]: the
// strongest boundary in the second half, else the strongest anywhere, else hi.
std::size_t pick_end(const std::vector<Word>& words, std::size_t lo, std::size_t hi) {
  const std::size_t half = lo + (hi - lo) / 2;
  auto best_in = [&](std::size_t from, std::size_t to) {  // ends in (from, to]
    std::size_t best = 0;
    int strength = 0;
    for (std::size_t e = to; e > from; --e) {
      if (words[e - 1].boundary > strength) {
        strength = words[e - 1].boundary;
        best = e;
      }
    }
    return best;
  };
  if (const std::size_t e = best_in(half, hi); e > 0) return e;
  if (const std::size_t e = best_in(lo, half); e > 0) return e;
  return hi;
}

// Where the chunk after [.., end) starts: the earliest sentence start (else line start)
// among the last `overlap` words, else exactly `overlap` words back; never before `floor`.
std::size_t pick_next_start(const std::vector<Word>& words, std::size_t floor, std::size_t end, std::size_t overlap) {
  if (overlap == 0) return end;
  const std::size_t from = std::max(floor + 1, end > overlap ? end - overlap : 0);
  for (const int strength : {2, 1}) {
    for (std::size_t s = from; s < end; ++s) {
      if (s > 0 && words[s - 1].boundary >= strength) return s;
    }
  }
  return std::min(from, end);
}

}  // namespace

std::vector<DocumentChunk> chunk_document(std::string_view text, const ChunkSettings& settings) {
  const std::vector<Word> words = split_words(text);
  std::vector<DocumentChunk> chunks;
  if (words.empty()) return chunks;
  const auto target = static_cast<std::size_t>(std::max(1, settings.target_words));
  const auto overlap = static_cast<std::size_t>(std::clamp(settings.overlap_words, 0, static_cast<int>(target / 2)));
  std::size_t start = 0;
  std::size_t previous_end = 0;
  for (;;) {
    const std::size_t limit = std::min(words.size(), start + target);
    const std::size_t end = limit == words.size() ? limit : pick_end(words, std::max(start, previous_end), limit);
    DocumentChunk c;
    c.index = static_cast<int>(chunks.size());
    c.start = words[start].start;
    c.end = words[end - 1].end;
    c.words = static_cast<int>(end - start);
    c.text = std::string(text.substr(c.start, c.end - c.start));
    chunks.push_back(std::move(c));
    if (end == words.size()) break;
    previous_end = end;
    start = pick_next_start(words, start, end, overlap);
  }
  return chunks;
}

}  // namespace earshot::rag
