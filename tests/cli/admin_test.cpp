// `earshot admin` through the real binary against the migrated scratch database, with the
// gateway (in process, real MariaDB, RabbitMQ and Redis) to prove what it does to logins.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "gateway_fixture.hpp"
#include "process.hpp"
#include "storage/test_main_env.hpp"
#include "test_env.hpp"

namespace earshot::testing {
namespace {

std::string env_prefix() {
  const auto ep = endpoints();
  return fmt::format(
      "EARSHOT_MYSQL_HOST={} EARSHOT_MYSQL_PORT={} EARSHOT_MYSQL_USER={} EARSHOT_MYSQL_PASSWORD='{}' "
      "EARSHOT_MYSQL_DATABASE={} ",
      ep.mysql_host, ep.mysql_port, ep.mysql_user, ep.mysql_password, StorageEnvironment::database_name());
}

const std::string& bin() {
  static const std::string b = std::string(EARSHOT_BIN_DIR) + "/earshot";
  return b;
}

TEST(AdminCli, PasswordNeverFromArgvAndCreateListDisableEndAccess) {
  auto& gw = gateway();
  const std::string env = env_prefix();
  const std::string email = "ops-" + unique_suffix() + "@platform.test";
  const std::string password = "a long admin passphrase";

  // A password on the command line is refused with the reason.
  for (const std::string& flag : {" --password '" + password + "'", " --password='" + password + "'"}) {
    auto r = run_command(env + bin() + " admin create --email " + email + flag + " 2>&1");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("visible to every user"), std::string::npos) << r.output;
  }
  // No password at all, or a short one.
  auto none = run_command("env -u EARSHOT_ADMIN_PASSWORD " + env + bin() + " admin create --email " + email + " 2>&1");
  EXPECT_EQ(none.exit_code, 2) << none.output;
  EXPECT_NE(none.output.find("--password-file"), std::string::npos) << none.output;
  EXPECT_EQ(run_command(env + "EARSHOT_ADMIN_PASSWORD=short " + bin() + " admin create --email " + email).exit_code, 2);

  // From a file.
  const auto file = std::filesystem::temp_directory_path() / ("earshot-admin-pw-" + unique_suffix());
  std::ofstream(file) << password << "\n";
  auto created = run_command(env + bin() + " admin create --email " + email + " --password-file " + file.string());
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_NE(created.output.find("created platform admin " + email), std::string::npos) << created.output;
  // Again: a clear error, nothing changed.
  auto again =
      run_command(env + bin() + " admin create --email " + email + " --password-file " + file.string() + " 2>&1");
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find("already exists"), std::string::npos) << again.output;
  std::filesystem::remove(file);
  // From the environment; an e-mail a business user has is refused too.
  const auto bid = gw.new_business("cli-adm");
  auto taken = run_command(env + "EARSHOT_ADMIN_PASSWORD='" + password + "' " + bin() + " admin create --email admin@" +
                           bid + ".test 2>&1");
  EXPECT_EQ(taken.exit_code, 1) << taken.output;
  const std::string email2 = "ops2-" + unique_suffix() + "@platform.test";
  EXPECT_EQ(run_command(env + "EARSHOT_ADMIN_PASSWORD='" + password + "' " + bin() + " admin create --email " + email2)
                .exit_code,
            0);

  auto list = run_command(env + bin() + " admin list");
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("ENABLED"), std::string::npos);
  for (const auto& line : {email, email2}) {
    const auto at = list.output.find(line);
    ASSERT_NE(at, std::string::npos) << list.output;
    const auto eol = list.output.find('\n', at);
    EXPECT_NE(list.output.substr(at, eol - at).find("yes"), std::string::npos) << list.output;
  }
  EXPECT_EQ(list.output.find(password), std::string::npos);

  // The new admin logs in and acts as a platform admin...
  auto login = gw.request("POST", "/api/v1/auth/login", "", {{"email", email}, {"password", password}});
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(login.json["role"], "platform_admin");
  const auto token = login.json["access_token"].get<std::string>();
  ASSERT_EQ(gw.request("GET", "/api/v1/admin/businesses", token).status, 200);

  // ...until disabled: the token already issued stops working within seconds, the refresh
  // token cannot renew it, and logins are refused.
  auto off = run_command(env + bin() + " admin disable --email " + email);
  ASSERT_EQ(off.exit_code, 0) << off.output;
  EXPECT_TRUE(wait_until([&] { return gw.request("GET", "/api/v1/admin/businesses", token).status == 401; },
                         api::AuthService::kAccessRecheck * 3));
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/refresh", "", {{"refresh_token", login.json["refresh_token"]}}).status,
            401);
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/login", "", {{"email", email}, {"password", password}}).status, 401);
  auto listed = run_command(env + bin() + " admin list");
  const auto at = listed.output.find(email);
  ASSERT_NE(at, std::string::npos);
  EXPECT_NE(listed.output.substr(at, listed.output.find('\n', at) - at).find(" no "), std::string::npos)
      << listed.output;
  EXPECT_EQ(run_command(env + bin() + " admin disable --email nobody-" + unique_suffix() + "@x.test").exit_code, 1);

  auto on = run_command(env + bin() + " admin enable --email " + email);
  ASSERT_EQ(on.exit_code, 0) << on.output;
  EXPECT_EQ(gw.request("POST", "/api/v1/auth/login", "", {{"email", email}, {"password", password}}).status, 200);

  // Documented in the top-level help.
  auto help = run_command(bin() + " --help");
  EXPECT_NE(help.output.find("admin"), std::string::npos) << help.output;
  auto sub_help = run_command(bin() + " admin --help");
  EXPECT_EQ(sub_help.exit_code, 0);
  EXPECT_NE(sub_help.output.find("--password-file"), std::string::npos);
}

}  // namespace
}  // namespace earshot::testing
