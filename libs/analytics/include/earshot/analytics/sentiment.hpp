#pragma once
// Rule-based sentiment in the VADER manner (Hutto & Gilbert 2014): a lexicon of words with
// mean valences (-4..+4), adjusted by negation ("not good"), intensifiers and dampeners
// ("very", "barely"), "but" contrast (the clause after counts more), ALL-CAPS emphasis when
// the text is not all caps, and '!' / '?' emphasis; the sum is normalised to [-1, 1].
//
// The lexicon is VADER's vader_lexicon.txt (MIT), fetched at set-up by
// scripts/fetch-assets.sh, version-pinned and checksummed; load it once and share it
// (read-only after load, safe from many threads).

#include <string>
#include <string_view>
#include <unordered_map>

#include "earshot/core/error.hpp"

namespace earshot::analytics {

class SentimentLexicon {
 public:
  // Lines "token<TAB>mean<TAB>std<TAB>[ratings]". kInvalidArgument naming the line when
  // malformed; kNotFound when the file is missing.
  [[nodiscard]] static Result<SentimentLexicon> load_file(const std::string& path);
  [[nodiscard]] static Result<SentimentLexicon> parse(std::string_view text);

  [[nodiscard]] const double* find(std::string_view lower_token) const;
  [[nodiscard]] std::size_t size() const { return valence_.size(); }

 private:
  std::unordered_map<std::string, double> valence_;
};

struct SentimentScore {
  double compound = 0;  // [-1, 1]
  double positive = 0;  // proportions of the text's sentiment mass, summing to 1 when any
  double negative = 0;
  double neutral = 0;
};

enum class SentimentModel {
  kCallCenter,  // VADER with the call-center layer (call_center_sentiment.hpp): the default
  kVader,       // VADER alone, as published
};

class SentimentAnalyzer {
 public:
  explicit SentimentAnalyzer(const SentimentLexicon& lexicon, SentimentModel model = SentimentModel::kCallCenter)
      : lex_(lexicon), model_(model) {}
  // The model's score. With the call-center layer, `compound` is the layered score and the
  // proportions are VADER's for the words it scored (routine formulas blanked out).
  [[nodiscard]] SentimentScore score(std::string_view text) const;
  // VADER alone, whatever the model.
  [[nodiscard]] SentimentScore vader(std::string_view text) const;
  [[nodiscard]] SentimentModel model() const { return model_; }

 private:
  const SentimentLexicon& lex_;
  SentimentModel model_;
};

}  // namespace earshot::analytics
