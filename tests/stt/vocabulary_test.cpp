// The pocketsphinx provider's stt_options: vocabulary parsing, its limits and errors, and the
// letter rules that spell names the dictionary lacks.
#include "earshot/stt/vocabulary.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

namespace earshot::stt {
namespace {

TEST(Vocabulary, ReadsWordsAndObjects) {
  auto o = parse_local_stt_options(
      R"({"vocabulary": ["Paula", {"word": "zentrix", "sounds_like": "Zen  Tricks"},
                         {"word": "acmeflex", "pronunciation": "ae1 k m iy0 f l eh k s", "boost": 25}]})");
  ASSERT_TRUE(o.has_value()) << o.error().message;
  ASSERT_EQ(o->vocabulary.size(), 3U);
  EXPECT_EQ(o->vocabulary[0], (VocabularyWord{"paula", "", "", 10.0}));
  EXPECT_EQ(o->vocabulary[1], (VocabularyWord{"zentrix", "zen tricks", "", 10.0}));
  EXPECT_EQ(o->vocabulary[2], (VocabularyWord{"acmeflex", "", "AE K M IY F L EH K S", 25.0}));
}

TEST(Vocabulary, EmptyOptionsAreNoVocabulary) {
  for (const char* text : {"", "{}", R"({"vocabulary": []})"}) {
    auto o = parse_local_stt_options(text);
    ASSERT_TRUE(o.has_value()) << text;
    EXPECT_TRUE(o->vocabulary.empty());
  }
}

TEST(Vocabulary, RejectsBadEntriesNamingThem) {
  const std::pair<const char*, const char*> cases[] = {
      {"[]", "not a JSON object"},
      {R"({"vocab": []})", "'vocab' is not a known key"},
      {R"({"vocabulary": "zentrix"})", "vocabulary must be a list"},
      {R"({"vocabulary": [7]})", "vocabulary[0] must be a word or an object"},
      {R"({"vocabulary": [""]})", "vocabulary[0] word must have 1 to 32 characters"},
      {R"({"vocabulary": ["ok", "two words"]})", "vocabulary[1] word 'two words' may only hold letters"},
      {R"({"vocabulary": ["1234"]})", "vocabulary[0] word '1234' needs a letter"},
      {R"({"vocabulary": ["abcdefghijklmnopqrstuvwxyzabcdefg"]})", "1 to 32 characters"},
      {R"({"vocabulary": [{"sounds_like": "zen"}]})", "vocabulary[0] word must have"},
      {R"({"vocabulary": [{"word": "zen", "boost": 0}]})", "boost must be a number in [1, 1000]"},
      {R"({"vocabulary": [{"word": "zen", "boost": "high"}]})", "boost must be a number"},
      {R"({"vocabulary": [{"word": "zen", "spelling": "z"}]})", "unknown key 'spelling'"},
      {R"({"vocabulary": [{"word": "zen", "pronunciation": "Z EH QQ"}]})", "'QQ', which is not a CMU phone"},
      {R"({"vocabulary": [{"word": "zen", "sounds_like": "a b c d e f g"}]})", "sounds_like must have 1 to 6 words"},
      {R"({"vocabulary": [{"word": "zen", "sounds_like": "z3n"}]})", "sounds_like word 'z3n' is not a word"},
      {R"({"vocabulary": [{"word": "zen", "sounds_like": "zen", "pronunciation": "Z EH N"}]})",
       "both sounds_like and pronunciation"},
      {R"({"vocabulary": ["zen", "Zen"]})", "vocabulary[1] repeats the word 'zen'"},
  };
  for (const auto& [text, expected] : cases) {
    auto o = parse_local_stt_options(text);
    ASSERT_FALSE(o.has_value()) << text;
    EXPECT_EQ(o.error().code, ErrorCode::kInvalidArgument) << text;
    EXPECT_NE(o.error().message.find(expected), std::string::npos) << text << " -> " << o.error().message;
  }
}

TEST(Vocabulary, SizeIsCapped) {
  std::string words;
  for (std::size_t i = 0; i <= kMaxVocabularyWords; ++i) words += fmt::format("{}\"w{}\"", i == 0 ? "" : ",", i);
  auto over = parse_local_stt_options(fmt::format(R"({{"vocabulary": [{}]}})", words));
  ASSERT_FALSE(over.has_value());
  EXPECT_NE(over.error().message.find("at most 200"), std::string::npos) << over.error().message;
  words = words.substr(0, words.rfind(','));
  auto at_cap = parse_local_stt_options(fmt::format(R"({{"vocabulary": [{}]}})", words));
  ASSERT_TRUE(at_cap.has_value()) << at_cap.error().message;
  EXPECT_EQ(at_cap->vocabulary.size(), kMaxVocabularyWords);
}

TEST(Vocabulary, LetterRulesSpellNames) {
  EXPECT_EQ(letter_pronunciation("zentrix"), "Z EH N T R IH K S");
  EXPECT_EQ(letter_pronunciation("Shipley"), "SH IH P L IY");
  EXPECT_EQ(letter_pronunciation("brightcove"), "B R AY T K OW V");
  EXPECT_EQ(letter_pronunciation("cellaphone"), "S EH L AE F OW N");
  EXPECT_EQ(letter_pronunciation("tina"), "T IY N AA");
  EXPECT_EQ(letter_pronunciation("123"), "");
  for (const char* w : {"quixotic", "xylo", "aaa", "y", "e", "strength", "o'neil"}) {
    const auto p = letter_pronunciation(w);
    EXPECT_FALSE(p.empty()) << w;
    std::size_t start = 0;
    while (start < p.size()) {
      const auto end = std::min(p.find(' ', start), p.size());
      EXPECT_TRUE(is_cmu_phone(p.substr(start, end - start))) << w << ": " << p;
      start = end + 1;
    }
  }
}

}  // namespace
}  // namespace earshot::stt
