#pragma once
// A business's vocabulary for the offline engine: product, brand and agent names the general
// dictionary lacks or the language model rarely predicts. Each word is added to the engine's
// pronunciation dictionary (when missing there, or with the pronunciation given) and to its
// call-center language model with a unigram boost.
//
// Configured in the business's `stt_options` for the pocketsphinx provider:
//   {"vocabulary": ["paula", {"word": "zentrix", "sounds_like": "zen tricks"},
//                   {"word": "acmeflex", "pronunciation": "AE K M IY F L EH K S", "boost": 20}]}
// - word: what transcripts show; letters (lower-cased), digits, ' and -; up to 32 characters.
// - sounds_like: up to 6 dictionary words said the same way (each unknown word spelt by
//   letter rules); pronunciation: CMU phones (AA AE AH ... ZH, 39 of them), up to 30.
//   Neither: the dictionary's pronunciation, else letter rules.
// - boost: 1-1000 (default 10), the word's unigram weight in the call-center model relative
//   to a word of that model's uniform distribution.
// At most kMaxVocabularyWords words. Anything else is kInvalidArgument naming the entry.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "earshot/core/error.hpp"

namespace earshot::stt {

struct VocabularyWord {
  std::string word;
  std::string sounds_like;
  std::string pronunciation;
  double boost = 10.0;

  bool operator==(const VocabularyWord&) const = default;
};

inline constexpr std::size_t kMaxVocabularyWords = 200;

// The offline engine's options from a business's stt_options JSON object (only the key
// "vocabulary" is read; other keys are refused so that typos are caught).
struct LocalSttOptions {
  std::vector<VocabularyWord> vocabulary;
};
[[nodiscard]] Result<LocalSttOptions> parse_local_stt_options(std::string_view json);

// Whether `phone` is one of the 39 CMU phones of the en-us model.
[[nodiscard]] bool is_cmu_phone(std::string_view phone);

// A pronunciation of `word` (lower-case letters; other characters are skipped) by English
// letter rules, in CMU phones. A guess for names the dictionary lacks; empty for no letters.
[[nodiscard]] std::string letter_pronunciation(std::string_view word);

}  // namespace earshot::stt
