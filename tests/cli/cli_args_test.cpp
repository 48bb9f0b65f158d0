#include "cli_args.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace earshot::cli {
namespace {

// argv-style pointers over `words` (which must outlive the call).
std::vector<char*> argv_of(std::vector<std::string>& words) {
  std::vector<char*> out;
  for (auto& w : words) out.push_back(w.data());
  return out;
}

TEST(CliArgs, FlagsTakeTheirValuesAndPositionalArgumentsKeepTheirOrder) {
  std::vector<std::string> words{"--url", "http://x", "what happened?", "--bid", "a", "--url", "http://y"};
  auto argv = argv_of(words);
  std::string url;
  std::string bid;
  const auto r = parse_args(argv, {{"--url", &url}, {"--bid", &bid}}, 1);
  EXPECT_EQ(r.outcome, ArgsOutcome::kOk);
  EXPECT_EQ(url, "http://y");  // the last occurrence wins
  EXPECT_EQ(bid, "a");
  EXPECT_EQ(r.positional, std::vector<std::string>{"what happened?"});
}

TEST(CliArgs, BadArgumentsSayWhatIsWrong) {
  std::string url = "kept";
  {
    std::vector<std::string> words{"--url"};
    auto argv = argv_of(words);
    const auto r = parse_args(argv, {{"--url", &url}});
    EXPECT_EQ(r.outcome, ArgsOutcome::kBad);
    EXPECT_EQ(r.error, "--url needs a value");
    EXPECT_EQ(url, "kept");
  }
  {
    std::vector<std::string> words{"--nope", "1"};
    auto argv = argv_of(words);
    const auto r = parse_args(argv, {{"--url", &url}});
    EXPECT_EQ(r.outcome, ArgsOutcome::kBad);
    EXPECT_EQ(r.error, "unknown option '--nope'");
  }
  {
    std::vector<std::string> words{"one", "two"};
    auto argv = argv_of(words);
    EXPECT_EQ(parse_args(argv, {}, 1).outcome, ArgsOutcome::kBad);
    EXPECT_EQ(parse_args(argv, {}, 0).error, "unexpected argument 'one'");
    EXPECT_EQ(parse_args(argv, {}, 2).positional.size(), 2U);
  }
  {
    std::vector<std::string> words{"--url", "u", "-h", "--nope"};
    auto argv = argv_of(words);
    EXPECT_EQ(parse_args(argv, {{"--url", &url}}).outcome, ArgsOutcome::kHelp);
  }
}

TEST(CliArgs, FirstLineOfAFileWithoutItsLineEnding) {
  const auto dir = std::filesystem::temp_directory_path() / ("cli_args_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  };
  EXPECT_EQ(first_line_of(write("crlf", "s3cret pass\r\nsecond\n")), "s3cret pass");
  EXPECT_EQ(first_line_of(write("bare", "token")), "token");
  EXPECT_EQ(first_line_of(write("empty", "")), std::nullopt);
  EXPECT_EQ(first_line_of(write("blank", "\nsecond\n")), std::nullopt);
  EXPECT_EQ(first_line_of((dir / "missing").string()), std::nullopt);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace earshot::cli
