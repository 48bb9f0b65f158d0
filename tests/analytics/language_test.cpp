// The offline language detector: Indian scripts by their Unicode blocks, Hindi against Marathi
// in Devanagari, Hinglish against English in Latin letters by their function words, too
// little text to tell, and provider language names normalised to BCP-47.
#include "earshot/analytics/language.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace earshot::analytics {
namespace {

struct Case {
  std::string text;
  std::string tag;
};

// Call-center turns written for this test (not taken from any data set).
const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      // Hindi in Devanagari, with English words mixed in as callers do.
      {"नमस्ते, मैं आपकी क्या मदद कर सकती हूं? मेरा ऑर्डर अभी तक नहीं आया है और मुझे रिफंड चाहिए।", "hi-IN"},
      {"सर, आपका बिल इस महीने दो बार कट गया है, मैं अभी refund process कर देती हूं।", "hi-IN"},
      // Marathi, also Devanagari.
      {"माझे बिल दोनदा आले आहे आणि मला परतावा पाहिजे. तुम्ही काय करू शकता?", "mr-IN"},
      {"வணக்கம், உங்களுக்கு எப்படி உதவ முடியும்? என் ஆர்டர் இன்னும் வரவில்லை.", "ta-IN"},
      {"నమస్కారం, నేను మీకు ఎలా సహాయం చేయగలను? నా బిల్లు రెండుసార్లు వచ్చింది.", "te-IN"},
      {"নমস্কার, আমি আপনাকে কীভাবে সাহায্য করতে পারি? আমার অর্ডার এখনও আসেনি।", "bn-IN"},
      {"મારું ઓર્ડર હજુ સુધી આવ્યું નથી, કૃપા કરીને તપાસ કરો.", "gu-IN"},
      {"ನನ್ನ ಬಿಲ್ ಎರಡು ಬಾರಿ ಬಂದಿದೆ, ದಯವಿಟ್ಟು ಪರಿಶೀಲಿಸಿ.", "kn-IN"},
      {"ਮੇਰਾ ਆਰਡਰ ਅਜੇ ਤੱਕ ਨਹੀਂ ਆਇਆ, ਕਿਰਪਾ ਕਰਕੇ ਚੈੱਕ ਕਰੋ।", "pa-IN"},
      {"എന്റെ ഓർഡർ ഇതുവരെ വന്നിട്ടില്ല, ദയവായി പരിശോധിക്കുക.", "ml-IN"},
      // Hinglish: Hindi grammar in Latin letters, English nouns and verbs inside.
      {"Mera internet teen din se band hai aur koi complaint ka jawab nahi de raha.", "hi-Latn"},
      {"Sir, aapka refund process ho gaya hai, paise paanch din mein account mein aa jayenge.", "hi-Latn"},
      {"Haan ji, main abhi check karti hoon, ek minute hold kijiye please.", "hi-Latn"},
      {"Pichli baar bhi aapne yahi bola tha, yeh bilkul bekaar service hai.", "hi-Latn"},
      // English, Indian English included.
      {"Thank you for calling, how can I help you today?", "en"},
      {"I have been on hold for forty five minutes and nobody told me why my bill doubled.", "en"},
      {"Kindly do the needful and revert back with the ticket number, my name is Ramesh Kumar.", "en"},
      // Latin letters, neither English nor Hinglish.
      {"Buenos dias, mi pedido todavia no ha llegado y necesito un reembolso por favor, gracias señora.", "und"},
  };
  return c;
}

TEST(LanguageDetector, TellsEachWrittenCallTurnsLanguage) {
  int right = 0;
  for (const auto& c : cases()) {
    const auto g = detect_language(c.text);
    EXPECT_EQ(g.tag, c.tag) << c.text << " (" << g.evidence << ")";
    if (g.tag == c.tag) ++right;
    if (!g.tag.empty()) {
      EXPECT_GT(g.confidence, 0.0) << c.text;
      EXPECT_LE(g.confidence, 1.0) << c.text;
      EXPECT_FALSE(g.evidence.empty());
    }
  }
  std::printf("language detector: %d/%zu written turns right\n", right, cases().size());
}

TEST(LanguageDetector, ScriptEvidenceNamesTheScript) {
  const auto g = detect_language("मेरा ऑर्डर अभी तक नहीं आया है");
  EXPECT_EQ(g.tag, "hi-IN");
  EXPECT_NE(g.evidence.find("Devanagari"), std::string::npos) << g.evidence;
  EXPECT_GT(g.confidence, 0.9);
}

TEST(LanguageDetector, TooLittleTextIsNoGuess) {
  EXPECT_EQ(detect_language("").tag, "");
  EXPECT_EQ(detect_language("Okay.").tag, "");
  EXPECT_EQ(detect_language("12345 678").tag, "");
  EXPECT_EQ(detect_language("हाँ").tag, "");  // three letters
}

TEST(LanguageDetector, MalformedUtf8DoesNotCrash) {
  const std::string bad = "mera \xff\xfe order \xe0\xa4 nahi aaya hai \xc3";
  const auto g = detect_language(bad);
  EXPECT_EQ(g.tag, "hi-Latn") << g.evidence;
}

TEST(LanguageDetector, AFewEnglishWordsInAHindiCallStayHindi) {
  // Devanagari carries a third of the letters: code-mixed Hindi.
  const auto g = detect_language("Please hold, मैं आपका account अभी check करती हूं");
  EXPECT_EQ(g.tag, "hi-IN") << g.evidence;
}

TEST(LanguageTags, ProviderNamesAndCodesBecomeBcp47) {
  EXPECT_EQ(normalize_language_tag("hi-IN"), "hi-IN");
  EXPECT_EQ(normalize_language_tag("en_us"), "en-US");
  EXPECT_EQ(normalize_language_tag("HI-in"), "hi-IN");
  EXPECT_EQ(normalize_language_tag("hindi"), "hi");
  EXPECT_EQ(normalize_language_tag("English"), "en");
  EXPECT_EQ(normalize_language_tag("hi-latn"), "hi-Latn");
  EXPECT_EQ(normalize_language_tag("unknown"), "");
  EXPECT_EQ(normalize_language_tag(" "), "");
  EXPECT_EQ(primary_language("hi-IN"), "hi");
  EXPECT_EQ(primary_language("hi-Latn"), "hi");
  EXPECT_EQ(primary_language("EN"), "en");
  EXPECT_TRUE(is_english("en-IN"));
  EXPECT_FALSE(is_english("hi-Latn"));
}

}  // namespace
}  // namespace earshot::analytics
