#pragma once
// Telephone-band test speech for the offline engine's word error rate (tests/stt and
// bench/stt): flite voices saying a sentence, band-limited to 300-3400 Hz, sampled at 8 kHz
// and passed through G.711 mu-law, as a phone call arrives; the word error rate of a
// hypothesis against its reference; the sentence files under tests/stt/data.

#include <string>
#include <vector>

namespace earshot::testing {

// The four flite voices the measurements rotate through (kal is flite's built-in 8 kHz
// diphone voice; awb, slt and rms are 16 kHz unit voices).
inline const std::vector<std::string> kTelephoneVoices = {"kal", "awb", "slt", "rms"};

// `text` spoken by `voice`, as 8 kHz telephone audio in [-1, 1] (100 ms of silence on each
// side). Empty when flite fails.
[[nodiscard]] std::vector<float> telephone_speech(const std::string& text, const std::string& voice);

// Band-limits 8 kHz audio to 300-3400 Hz (4th-order Butterworth high- and low-pass) and
// applies a G.711 mu-law round trip.
[[nodiscard]] std::vector<float> telephone_channel(std::vector<float> samples_8k);

// Lower-cased words of `text` (letters, digits and apostrophes).
[[nodiscard]] std::vector<std::string> words_of(const std::string& text);

// Word-level edit distance between reference and hypothesis (substitutions, deletions and
// insertions).
[[nodiscard]] std::size_t word_errors(const std::vector<std::string>& ref, const std::vector<std::string>& hyp);

// CPU time of the calling thread in seconds (real-time factors on a shared machine).
[[nodiscard]] double thread_cpu_seconds();

// The non-empty lines of a sentence file that do not start with '#'.
[[nodiscard]] std::vector<std::string> read_sentences(const std::string& path);

}  // namespace earshot::testing
