#pragma once
// The language of a call's text, offline: the script of its letters (Devanagari, Bengali,
// Gurmukhi, Gujarati, Odia, Tamil, Telugu, Kannada, Malayalam, Arabic) and, for text in Latin
// letters, a function-word profile telling English from romanised Hindi ("Hinglish": hai,
// nahi, kya, mera, aap, ...).
//
// Tags are BCP-47: "hi-IN", "mr-IN", "bn-IN", "pa-IN", "gu-IN", "or-IN", "ta-IN", "te-IN",
// "kn-IN", "ml-IN", "ur-IN" by script; "en" for English (the region is not in the text);
// "hi-Latn" for Hinglish (Hindi in Latin script, the script subtag saying how it is written);
// "und" for text in Latin letters that is neither. Too little text to tell is no guess.

#include <string>
#include <string_view>

namespace earshot::analytics {

struct LanguageGuess {
  std::string tag;        // empty: too little text to tell
  double confidence = 0;  // the share of the letters or words that decided it, in [0, 1]
  std::string evidence;   // "script Devanagari 0.93", "Hinglish words 0.41", "English words 0.38"
};

[[nodiscard]] LanguageGuess detect_language(std::string_view text);

// A provider's language as a BCP-47 tag: "hi-IN" stays, "en_us" -> "en-US", full names
// ("hindi", "English" from Whisper) -> "hi", "en"; "", "unknown", "auto" -> "".
[[nodiscard]] std::string normalize_language_tag(std::string_view reported);

// The primary subtag, lower case: "hi-IN" -> "hi", "hi-Latn" -> "hi", "EN" -> "en".
[[nodiscard]] std::string primary_language(std::string_view tag);

[[nodiscard]] inline bool is_english(std::string_view tag) {
  return primary_language(tag) == "en";
}

}  // namespace earshot::analytics
