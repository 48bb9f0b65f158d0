// Diarization of mono calls: error rate (DER, 250 ms collar), interruptions inferred from
// turn-taking (precision and recall against the overlap rule on the placed speech) and speed
// on the synthetic two-voice telephone set (tests/audio/diar_corpus), development or
// held-out part.
//
//   build/bin/diarize_bench [--set held-out|dev|all] [--cache DIR] [--single] [--verbose]
//                           [--max-gap MS] [--margin MS] [--min-before MS] [--hangover FRAMES] [--takeovers]
//
// The clips are synthesised once into DIR (default: a directory under the system's temp
// directory) and reused.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "diar_corpus.hpp"
#include "earshot/analytics/conversation.hpp"
#include "earshot/audio/diarize.hpp"

int main(int argc, char** argv) {
  std::string set = "held-out";
  std::string cache = (std::filesystem::temp_directory_path() / "earshot-diarize-clips").string();
  bool verbose = false;
  bool single = false;  // also one-voice recordings: how many speakers are found
  earshot::analytics::TurnTakingOptions turn_taking;
  auto pauses = earshot::analytics::turn_taking_vad();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--set" && i + 1 < argc) {
      set = argv[++i];
    } else if (a == "--cache" && i + 1 < argc) {
      cache = argv[++i];
    } else if (a == "--single") {
      single = true;
    } else if (a == "--verbose") {
      verbose = true;
    } else if (a == "--max-gap" && i + 1 < argc) {
      turn_taking.max_gap_ms = std::stoll(argv[++i]);
    } else if (a == "--min-before" && i + 1 < argc) {
      turn_taking.min_before_ms = std::stoll(argv[++i]);
    } else if (a == "--margin" && i + 1 < argc) {
      turn_taking.margin_ms = std::stoll(argv[++i]);
    } else if (a == "--hangover" && i + 1 < argc) {
      pauses.hangover_frames = std::stoi(argv[++i]);
    } else if (a == "--takeovers") {
      turn_taking.takeovers = true;
    } else {
      std::fprintf(stderr,
                   "usage: diarize_bench [--set held-out|dev|all] [--cache DIR] [--single] [--verbose] [--max-gap MS] "
                   "[--margin MS] [--min-before MS] [--hangover FRAMES] [--takeovers]\n");
      return 2;
    }
  }
  std::vector<int> calls;
  if (set == "dev" || set == "all")
    for (int i = 0; i < earshot::testing::kDevCalls; ++i) calls.push_back(i);
  if (set == "held-out" || set == "all")
    for (int i = 0; i < earshot::testing::kHeldOutCalls; ++i) calls.push_back(earshot::testing::kHeldOutFirst + i);
  if (calls.empty()) {
    std::fprintf(stderr, "diarize_bench: unknown set '%s'\n", set.c_str());
    return 2;
  }

  double strict_err = 0, strict_ref = 0;
  earshot::testing::InterruptionScore interruptions;
  double ref_ms = 0, missed = 0, fa = 0, conf = 0, audio_s = 0, cpu_s = 0;
  for (const int index : calls) {
    earshot::testing::DiarCall call;
    try {
      call = earshot::testing::make_diar_call(index, cache);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "diarize_bench: %s (install espeak-ng and flite with scripts/install-deps.sh)\n", e.what());
      return 1;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto speech = earshot::audio::detect_voice(call.samples, call.rate).speech;
    const auto d = earshot::audio::diarize(call.samples, call.rate, speech);
    cpu_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto reference = earshot::testing::reference_interruptions(call);
    const auto found = earshot::testing::found_interruptions(
        d, earshot::audio::detect_voice(call.samples, call.rate, pauses).speech, turn_taking);
    const auto score = earshot::testing::score_interruptions(reference, found);
    interruptions += score;
    audio_s += static_cast<double>(call.duration_ms()) / 1000.0;
    const auto e = earshot::audio::diarization_error(call.truth, d.turns, 250);
    const auto strict = earshot::audio::diarization_error(call.truth, d.turns, 0);
    strict_err += strict.der * static_cast<double>(strict.reference_ms);
    strict_ref += static_cast<double>(strict.reference_ms);
    const auto r = static_cast<double>(e.reference_ms);
    ref_ms += r;
    missed += e.missed * r;
    fa += e.false_alarm * r;
    conf += e.confusion * r;
    fmt::print(
        "{:<52} {:5.1f} s  DER {:5.1f}%  (miss {:4.1f}, false alarm {:4.1f}, confusion {:4.1f}), {} turns, separation "
        "{:.1f}; interruptions {} found, {} in the reference, {} matched\n",
        call.name, static_cast<double>(call.duration_ms()) / 1000.0, 100 * e.der, 100 * e.missed, 100 * e.false_alarm,
        100 * e.confusion, d.turns.size(), d.separation, score.found, score.reference, score.matched);
    if (verbose) {
      for (const auto& t : call.truth) fmt::print("  ref {:6}-{:6} {}\n", t.start_ms, t.end_ms, t.speaker);
      for (const auto& t : d.turns) fmt::print("  hyp {:6}-{:6} {}\n", t.start_ms, t.end_ms, t.speaker);
      for (const auto& i : reference)
        fmt::print("  reference interruption at {:6} by {} ({} ms)\n", i.start_ms,
                   i.by == earshot::analytics::Role::kAgent ? 0 : 1, i.duration_ms);
      for (const auto& i : found)
        fmt::print("  found interruption at {:6} by {} ({} ms)\n", i.start_ms,
                   i.by == earshot::analytics::Role::kAgent ? 0 : 1, i.duration_ms);
    }
  }
  fmt::print(
      "{} set, {} calls, {:.1f} min of 8 kHz mono: DER {:.1f}% (missed {:.1f}%, false alarm {:.1f}%, confusion "
      "{:.1f}%), 250 ms collar, overlaps scored\n",
      set, calls.size(), audio_s / 60.0, 100 * (missed + fa + conf) / ref_ms, 100 * missed / ref_ms, 100 * fa / ref_ms,
      100 * conf / ref_ms);
  fmt::print("without a collar: DER {:.1f}%\n", 100 * strict_err / strict_ref);
  fmt::print(
      "interruptions from turn-taking: {} found, {} in the reference, {} matched: precision {:.0f}%, recall {:.0f}% "
      "(max gap {} ms, margin {} ms, before >= {} ms, pause hangover {} ms{})\n",
      interruptions.found, interruptions.reference, interruptions.matched, 100 * interruptions.precision(),
      100 * interruptions.recall(), turn_taking.max_gap_ms, turn_taking.margin_ms, turn_taking.min_before_ms,
      pauses.hangover_frames * pauses.frame_ms, turn_taking.takeovers ? ", takeovers counted" : "");
  if (single) {
    for (const int index : calls) {
      const auto call = earshot::testing::make_single_voice_call(index, cache);
      const auto d = earshot::audio::diarize(call.samples, call.rate);
      fmt::print("{:<52} speakers {}, separation {:.1f}\n", call.name, d.speakers, d.separation);
    }
  }
  fmt::print("speed: {:.2f} s for {:.1f} s of audio on one core -> {:.0f}x real time\n", cpu_s, audio_s,
             audio_s / cpu_s);
  return 0;
}
