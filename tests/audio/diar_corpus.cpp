#include "diar_corpus.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <numbers>
#include <random>
#include <stdexcept>

#include "earshot/audio/audio.hpp"

namespace earshot::testing {
namespace {

constexpr int kRate = 8000;

// Each dialogue: turns alternating agent, customer, agent, ...; a turn is one or two
// sentences (a pause between them, where the listener may say a back-channel).
using Turn = std::vector<std::string>;
const std::vector<std::vector<Turn>> kDialogues = {
    {
        {"Thank you for calling Northwind Internet, this is Maria, how can I help you today?"},
        {"Hi, my connection keeps dropping every evening.", "It has been like this for about a week now."},
        {"I am sorry to hear that.", "Can I have the account number or the phone number on the account?"},
        {"Sure, it is five five five, two one nine, four four eight zero."},
        {"Thank you.", "I can see two outages reported in your area on Monday and Wednesday."},
        {"That explains some of it, but it also happened last night."},
        {"Let me run a line test while we talk, it takes about a minute."},
        {"Okay, no problem."},
        {"The test shows a lot of noise on the line at your street cabinet.", "I will book a technician to check it."},
        {"When could they come? I work from home so mornings are best."},
        {"The first slot is Thursday between eight and twelve."},
        {"Thursday morning works for me."},
        {"Great, you will get a text message the day before.", "Is there anything else I can help with?"},
        {"No, that is everything, thanks for your help."},
    },
    {
        {"Good afternoon, you are through to Brightside Energy billing, my name is Tom."},
        {"Hello Tom, I just got my bill and it is almost twice what I normally pay."},
        {"I understand, let me take a look at that for you.", "Could you confirm your postcode please?"},
        {"It is north west one, four bee cue."},
        {"Thanks.", "I can see the last reading was an estimate and not an actual meter reading."},
        {"Nobody told me that, I thought the smart meter sends the readings."},
        {"It should, but your meter stopped sending data in March.",
         "If you can read the meter now I can correct the bill."},
        {"Give me a second, I am walking to the cupboard.", "Okay, it says four eight two seven one."},
        {"Perfect, that is much lower than our estimate.", "Your new balance is sixty two pounds forty."},
        {"That sounds more like it.", "Will someone fix the smart meter?"},
        {"Yes, I have raised a repair request and an engineer will call you to arrange a visit."},
        {"Alright, thank you for sorting that out."},
    },
    {
        {"Thanks for calling Harbor Bank card services, how may I help you?"},
        {"Hi, I think my card was used for a purchase I did not make."},
        {"I am sorry about that, we will get it sorted.", "Can you tell me the amount and the date?"},
        {"It was yesterday, three hundred and twelve dollars at an electronics store."},
        {"I see the transaction.", "I am going to block this card right away so it cannot be used again."},
        {"Yes please, do that."},
        {"Done, the card is blocked.", "A replacement will arrive in five to seven business days."},
        {"And what about the money?"},
        {"I have opened a dispute for the full amount.",
         "You will see a temporary credit on your account within two days."},
        {"Okay, that is a relief."},
        {"Is there anything else I can do for you today?"},
        {"No, that was it, thank you."},
    },
    {
        {"Welcome to Pinecrest Furniture customer care, this is Daniel speaking."},
        {"Hi Daniel, I ordered a sofa three weeks ago and it still has not arrived."},
        {"Let me check the order.", "Do you have the order number handy?"},
        {"Yes, it is pee see seven seven four one nine."},
        {"Thank you, I found it.", "The sofa left our warehouse on Friday and is with the delivery partner."},
        {"Friday? Nobody called me to book a delivery slot."},
        {"You are right, that should have happened.", "I can book the slot for you now if you like."},
        {"Please do, I have been waiting long enough."},
        {"I have Tuesday afternoon or Wednesday morning."},
        {"Wednesday morning please."},
        {"Booked for Wednesday between seven and eleven.", "I have also added a twenty pound credit for the delay."},
        {"Thank you, I appreciate that."},
    },
    {
        {"Hello, you have reached Summit Mobile, my name is Priya, how can I assist you?"},
        {"Hi, I want to cancel my contract, I am moving abroad next month."},
        {"I can help with that.", "May I ask which country you are moving to?"},
        {"Portugal, for work."},
        {"Congratulations.", "Before we cancel, we do have a travel plan that works in Portugal."},
        {"How much is it?"},
        {"It is fifteen euros a month with ten gigabytes of data and free calls home."},
        {"Hmm, that is actually not bad.", "But I will probably get a local number there."},
        {"That is understandable.", "Your contract ends in June, so there is no early termination fee."},
        {"Good, then please go ahead and cancel it from the end of the month."},
        {"Done, you will get a confirmation by email within the hour."},
        {"Great, thanks Priya."},
    },
    {
        {"Thank you for calling Clearwater Insurance claims, this is Kevin."},
        {"Hello, I need to report water damage in my kitchen, a pipe burst last night."},
        {"I am sorry to hear that, is everyone safe?"},
        {"Yes, everyone is fine, but the floor is ruined."},
        {"Okay.", "Did you turn off the main water supply?"},
        {"Yes, the plumber came this morning and fixed the pipe."},
        {"Good.", "Please keep the plumber's invoice and take photos of the damage."},
        {"I already took some photos.", "Where should I send them?"},
        {"You can upload them in the app under your claim, the reference is cee el nine three two."},
        {"Got it.", "How long does a claim usually take?"},
        {"An adjuster will call you within two working days to arrange a visit."},
        {"Okay, thank you Kevin."},
    },
    {
        {"Hi, thanks for calling Orbit Streaming support, how can I help?"},
        {"My television app keeps saying my payment failed, but my card is fine."},
        {"Let me look into it.", "Can I have the email address on your account?"},
        {"It is sam dot porter at example dot com."},
        {"Thanks, I see the problem.", "The card on file expired last month."},
        {"Oh, I updated it in my bank app, I thought that would carry over."},
        {"Unfortunately it does not.", "I can send you a secure link to update the card."},
        {"Yes please, send it by text."},
        {"Sent.", "Once you update it the service will come back within a few minutes."},
        {"Okay, I just did it, it says payment successful."},
        {"Perfect, you are all set.", "Enjoy your evening."},
        {"You too, bye."},
    },
    {
        {"Good morning, Riverside Clinic appointments, this is Hannah."},
        {"Good morning, I would like to move my appointment with doctor Lewis."},
        {"Of course.", "Can I have your date of birth to find your record?"},
        {"The fourth of June, nineteen eighty six."},
        {"Thank you.", "I see you are booked for Monday at ten."},
        {"Yes, I cannot make Monday, something came up at work."},
        {"Doctor Lewis has Wednesday at two thirty or Friday at nine."},
        {"Friday at nine is better."},
        {"I have moved you to Friday at nine.", "Please arrive ten minutes early to check in."},
        {"Will do.", "Do I need to bring anything?"},
        {"Just your insurance card and a list of any medication you take."},
        {"Great, thank you so much."},
    },
};

const std::vector<std::string> kBackChannels = {"mm-hm", "okay", "right", "yeah", "I see", "uh-huh", "sure"};

// Agent voice, customer voice. Development pairs and held-out pairs are disjoint.
const std::vector<std::pair<std::string, std::string>> kDevPairs = {
    {"flite:slt", "flite:kal"},
    {"flite:awb", "espeak:en-us+f3:55:165"},
    {"espeak:en-gb+m3:45:170", "flite:rms"},
    {"flite:kal", "espeak:en-us+m1:40:150"},
};
const std::vector<std::pair<std::string, std::string>> kHeldOutPairs = {
    {"flite:rms", "flite:slt"},
    {"flite:kal", "flite:awb"},
    {"espeak:en-us+f2:60:160", "flite:awb"},
    {"flite:slt", "espeak:en-gb-scotland+m2:45:155"},
    {"espeak:en-us+m3:50:175", "espeak:en-gb+f4:65:160"},
    {"flite:awb", "flite:rms"},
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<float> trim(std::vector<float> clip) {
  const std::size_t ten_ms = kRate / 100;
  auto level = [&](std::size_t begin) {
    double e = 0;
    const std::size_t end = std::min(clip.size(), begin + ten_ms);
    for (std::size_t i = begin; i < end; ++i) e += static_cast<double>(clip[i]) * clip[i];
    return 10 * std::log10(e / static_cast<double>(ten_ms) + 1e-12);
  };
  std::size_t first = 0;
  while (first + ten_ms < clip.size() && level(first) < -50) first += ten_ms;
  std::size_t last = clip.size();
  while (last > first + ten_ms && level(last - ten_ms) < -50) last -= ten_ms;
  return {clip.begin() + static_cast<std::ptrdiff_t>(first), clip.begin() + static_cast<std::ptrdiff_t>(last)};
}

// Second-order section (RBJ cookbook), applied in place.
void biquad(std::vector<float>& x, double f0, bool high) {
  const double w0 = 2 * std::numbers::pi * f0 / kRate;
  const double alpha = std::sin(w0) / std::numbers::sqrt2;  // 2Q with Q = 1/sqrt(2)
  const double c = std::cos(w0);
  const double b0 = high ? (1 + c) / 2 : (1 - c) / 2;
  const double b1 = high ? -(1 + c) : 1 - c;
  const double b2 = b0;
  const double a0 = 1 + alpha, a1 = -2 * c, a2 = 1 - alpha;
  double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (auto& s : x) {
    const double y = (b0 * s + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2) / a0;
    x2 = x1;
    x1 = s;
    y2 = y1;
    y1 = y;
    s = static_cast<float>(y);
  }
}

float mu_law_round_trip(float s) {
  constexpr double kMu = 255.0;
  const double v = std::clamp(static_cast<double>(s), -1.0, 1.0);
  const double y = std::copysign(std::log1p(kMu * std::fabs(v)) / std::log1p(kMu), v);
  const double q = std::round(y * 127.0) / 127.0;  // 8 bits
  return static_cast<float>(std::copysign((std::pow(1 + kMu, std::fabs(q)) - 1) / kMu, q));
}

struct Placed {
  std::int64_t start_ms;
  std::vector<float> clip;
  int speaker;
  double gain;
};

DiarCall mix(std::string name, const std::vector<Placed>& parts, unsigned seed) {
  DiarCall call;
  call.name = std::move(name);
  std::int64_t end = 0;
  for (const auto& p : parts) end = std::max(end, p.start_ms + static_cast<std::int64_t>(p.clip.size()) * 1000 / kRate);
  call.samples.assign(static_cast<std::size_t>((end + 800) * kRate / 1000), 0.0f);
  for (const auto& p : parts) {
    const auto offset = static_cast<std::size_t>(p.start_ms * kRate / 1000);
    for (std::size_t i = 0; i < p.clip.size() && offset + i < call.samples.size(); ++i) {
      call.samples[offset + i] += static_cast<float>(p.gain) * p.clip[i];
    }
    call.truth.push_back({p.start_ms, p.start_ms + static_cast<std::int64_t>(p.clip.size()) * 1000 / kRate, p.speaker});
  }
  std::sort(call.truth.begin(), call.truth.end(),
            [](const audio::SpeakerTurn& a, const audio::SpeakerTurn& b) { return a.start_ms < b.start_ms; });
  telephone_band(call.samples, seed);
  return call;
}

}  // namespace

std::vector<float> synthesise(const std::string& voice, const std::string& text, const std::string& cache_dir) {
  ::mkdir(cache_dir.c_str(), 0755);
  const auto key = std::hash<std::string>{}(voice + "|" + text);
  const std::string wav = fmt::format("{}/{:016x}.wav", cache_dir, key);
  std::ifstream probe(wav);
  if (!probe.good()) {
    const std::string txt = wav + ".txt";
    std::ofstream(txt) << text;
    const auto parts = split(voice, ':');
    std::string cmd;
    if (parts[0] == "flite" && parts.size() == 2) {
      cmd = fmt::format("flite -voice {} -f '{}' -o '{}.tmp' >/dev/null 2>&1", parts[1], txt, wav);
    } else if (parts[0] == "espeak" && parts.size() == 4) {
      cmd = fmt::format("espeak-ng -v {} -p {} -s {} -f '{}' -w '{}.tmp' >/dev/null 2>&1", parts[1], parts[2], parts[3],
                        txt, wav);
    } else {
      throw std::runtime_error("unknown voice " + voice);
    }
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("speech synthesis failed: " + cmd);
    std::rename((wav + ".tmp").c_str(), wav.c_str());
    std::remove(txt.c_str());
  }
  auto decoded = audio::decode_file(wav);
  if (!decoded) throw std::runtime_error("cannot read " + wav + ": " + decoded.error().message);
  auto clip = audio::resample(decoded->channels[0], decoded->sample_rate, kRate);
  // Speech level near -20 dBFS whatever the synthesiser's output level.
  double e = 0;
  for (float s : clip) e += static_cast<double>(s) * s;
  const double rms = std::sqrt(e / static_cast<double>(std::max<std::size_t>(1, clip.size())));
  if (rms > 0) {
    for (auto& s : clip) s = static_cast<float>(s * 0.1 / rms);
  }
  return trim(std::move(clip));
}

void telephone_band(std::vector<float>& samples, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.001f);  // about -60 dBFS
  for (auto& s : samples) s += noise(rng);
  biquad(samples, 300.0, true);
  biquad(samples, 300.0, true);
  biquad(samples, 3400.0, false);
  biquad(samples, 3400.0, false);
  for (auto& s : samples) s = mu_law_round_trip(s);
}

DiarCall make_diar_call(int index, const std::string& cache_dir) {
  const bool held_out = index >= kHeldOutFirst;
  const auto& pairs = held_out ? kHeldOutPairs : kDevPairs;
  const auto local = static_cast<std::size_t>(held_out ? index - kHeldOutFirst : index);
  const auto& [agent_voice, customer_voice] = pairs[local % pairs.size()];
  const auto& dialogue = kDialogues[(local + (held_out ? 3 : 0)) % kDialogues.size()];
  std::mt19937 rng(static_cast<unsigned>(index) * 7919U + 17U);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  const std::array<double, 2> gain = {0.6 + 0.4 * uniform(0, 10) / 10.0, 0.4 + 0.5 * uniform(0, 10) / 10.0};
  const std::array<std::string, 2> voice = {agent_voice, customer_voice};

  std::vector<Placed> parts;
  std::vector<std::string> agent_lines;
  std::int64_t t = uniform(300, 900);
  for (std::size_t turn = 0; turn < dialogue.size(); ++turn) {
    const int who = static_cast<int>(turn % 2);
    const int other = 1 - who;
    std::int64_t end = t;
    for (std::size_t s = 0; s < dialogue[turn].size(); ++s) {
      const auto& line = dialogue[turn][s];
      if (who == 0) agent_lines.push_back(line);
      auto clip = synthesise(voice[static_cast<std::size_t>(who)], line, cache_dir);
      const auto len = static_cast<std::int64_t>(clip.size()) * 1000 / kRate;
      // A back-channel over a long sentence of the other speaker, now and then.
      if (len > 3000 && chance(0.25)) {
        auto bc = synthesise(voice[static_cast<std::size_t>(other)],
                             kBackChannels[static_cast<std::size_t>(uniform(0, 6))], cache_dir);
        parts.push_back({t + len * uniform(45, 70) / 100, std::move(bc), other, gain[static_cast<std::size_t>(other)]});
      }
      parts.push_back({t, std::move(clip), who, gain[static_cast<std::size_t>(who)]});
      end = t + len;
      t = end;
      if (s + 1 < dialogue[turn].size()) {
        // The pause between two sentences of a turn; the listener may acknowledge in it.
        const std::int64_t pause = uniform(500, 900);
        if (chance(0.5)) {
          auto bc = synthesise(voice[static_cast<std::size_t>(other)],
                               kBackChannels[static_cast<std::size_t>(uniform(0, 6))], cache_dir);
          const auto bc_len = static_cast<std::int64_t>(bc.size()) * 1000 / kRate;
          parts.push_back({t + uniform(80, 200), std::move(bc), other, gain[static_cast<std::size_t>(other)]});
          t = std::max(t + pause, parts.back().start_ms + bc_len + uniform(100, 300));
        } else {
          t += pause;
        }
      }
    }
    // The next speaker: usually after a gap, sometimes starting before this one finished.
    t = end + (chance(0.2) ? -uniform(150, 600) : uniform(200, 1200));
  }
  auto call =
      mix(fmt::format("call {}: {} / {}", index, agent_voice, customer_voice), parts, static_cast<unsigned>(index));
  call.agent_lines = std::move(agent_lines);
  return call;
}

DiarCall make_single_voice_call(int index, const std::string& cache_dir) {
  const bool held_out = index >= kHeldOutFirst;
  const auto& pairs = held_out ? kHeldOutPairs : kDevPairs;
  const auto local = static_cast<std::size_t>(held_out ? index - kHeldOutFirst : index);
  const auto& voice = pairs[local % pairs.size()].first;
  const auto& dialogue = kDialogues[local % kDialogues.size()];
  std::vector<Placed> parts;
  std::int64_t t = 500;
  for (std::size_t turn = 0; turn < dialogue.size(); turn += 2) {
    for (const auto& line : dialogue[turn]) {
      auto clip = synthesise(voice, line, cache_dir);
      const auto len = static_cast<std::int64_t>(clip.size()) * 1000 / kRate;
      parts.push_back({t, std::move(clip), 0, 0.8});
      t += len + 700;
    }
  }
  return mix(fmt::format("one voice {}: {}", index, voice), parts, static_cast<unsigned>(index) + 1000U);
}

std::vector<analytics::Interruption> reference_interruptions(const DiarCall& call) {
  std::vector<audio::Interval> agent, customer;
  for (const auto& t : call.truth) (t.speaker == 0 ? agent : customer).push_back({t.start_ms, t.end_ms});
  return analytics::overlap_interruptions(std::move(agent), std::move(customer), 500);
}

std::vector<analytics::Interruption> found_interruptions(const audio::Diarization& d,
                                                         std::span<const audio::Interval> speech,
                                                         const analytics::TurnTakingOptions& options) {
  std::vector<audio::Interval> agent, customer;
  for (const auto& t : d.turns) (t.speaker == 0 ? agent : customer).push_back({t.start_ms, t.end_ms});
  return analytics::turn_taking_interruptions(std::move(agent), std::move(customer), speech, options);
}

InterruptionScore& InterruptionScore::operator+=(const InterruptionScore& o) {
  reference += o.reference;
  found += o.found;
  matched += o.matched;
  return *this;
}

InterruptionScore score_interruptions(std::span<const analytics::Interruption> reference,
                                      std::span<const analytics::Interruption> found, std::int64_t tolerance_ms) {
  InterruptionScore s;
  s.reference = static_cast<int>(reference.size());
  s.found = static_cast<int>(found.size());
  std::vector<bool> used(reference.size(), false);
  for (const auto& f : found) {
    std::size_t best = reference.size();
    std::int64_t best_gap = tolerance_ms + 1;
    for (std::size_t r = 0; r < reference.size(); ++r) {
      const auto gap = std::llabs(reference[r].start_ms - f.start_ms);
      if (!used[r] && reference[r].by == f.by && gap < best_gap) {
        best = r;
        best_gap = gap;
      }
    }
    if (best < reference.size()) {
      used[best] = true;
      ++s.matched;
    }
  }
  return s;
}

}  // namespace earshot::testing
