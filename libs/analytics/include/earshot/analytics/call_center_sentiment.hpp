#pragma once
// The call-center layer over the VADER scorer (sentiment.hpp). VADER reads emotional words;
// service calls carry much of their polarity in events and formulas instead:
//   - service failures without emotional words ("I've been on hold for forty five minutes",
//     "the technician never showed up", "you charged me twice", "this is my third call") and
//     cancellation, switching, complaint and escalation intent are negative evidence;
//   - favourable outcomes ("the refund has been approved", "I've waived the fee", "it's
//     working again") are positive evidence, unless negated ("still not working");
//   - sarcasm ("oh great, another outage", "thanks for nothing", "love how I have to ...")
//     turns positive words negative; once failure evidence is present, positive words count
//     for little;
//   - the routine politeness of a call ("thank you for calling", "please hold", "is this the
//     best number to reach you?", "sorry for the wait", "have a great day") and verbs that
//     look like sentiment words ("would you like", "can I help") are blanked out before VADER
//     scores the text;
//   - questions keep only a fraction of VADER's valence ("are you happy for me to go ahead?"
//     asks, it does not praise), except complaints phrased as questions ("why was I charged
//     ...?", "how many times do I have to ...?");
//   - an utterance made only of acknowledgement and closing words ("okay, sounds good, talk to
//     you then", "great, thanks, bye") is neutral.
// The layer reads only the text (no speaker, no context); its rules are English.

#include <string>
#include <string_view>
#include <vector>

namespace earshot::analytics {

struct CallCenterReading {
  std::string vader_text;  // the text with routine formulas blanked out, for VADER to score
  double negative = 0;     // valence of the failure / intent / sarcasm evidence (<= 0)
  double positive = 0;     // valence of the favourable-outcome evidence (>= 0)
  bool sarcasm = false;
  bool question = false;          // an information question (complaint questions are not)
  bool acknowledgement = false;   // only acknowledgement and closing words
  std::vector<std::string> cues;  // the rules that fired, e.g. "failure:on hold for"
};

[[nodiscard]] CallCenterReading read_call_center(std::string_view text);

// The layered compound score in [-1, 1] from the reading and VADER's compound score of
// reading.vader_text.
[[nodiscard]] double call_center_compound(const CallCenterReading& reading, double vader_compound);

}  // namespace earshot::analytics
