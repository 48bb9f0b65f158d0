#pragma once
// Provider speaker labels -> "agent" / "customer".
//
// Per-channel transcripts ("ch0"/"ch1"): by the business's channel map, agent on the left
// (ch0) by default, swappable.
// Diarized transcripts (any other labels): the agent is the speaker of the earliest segment
// containing one of the greeting phrases (case- and punctuation-insensitive), else the
// speaker of the first segment. The customer is the other speaker with the most talk time.
// Any further speaker is kept as "other" and NOT merged into a role: a third voice (a
// supervisor, an IVR prompt, a transfer) is not reliably either party, and merging it would
// corrupt both parties' talk time and interruption counts.
// "unknown" (a provider that returned no speakers on a mono mix) stays "unknown".

#include <map>
#include <string>
#include <vector>

#include "earshot/stt/transcript.hpp"

namespace earshot::stt {

struct SpeakerMapping {
  bool agent_on_left = true;
  std::vector<std::string> greeting_phrases = {
      "thank you for calling", "thanks for calling", "how can i help", "how may i help",
      "how can i assist",      "how may i assist",   "welcome to"};
};

// Relabels every segment; returns the label map applied (provider label -> role).
std::map<std::string, std::string> map_speakers(Transcript& transcript, const SpeakerMapping& mapping = {});

}  // namespace earshot::stt
