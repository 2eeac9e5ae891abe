#include "provision/manifest/secret.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace ssivm::provision {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class SecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("secret." + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string ErrorOf(const std::string& path) const {
    try {
      LoadSecret(path);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

TEST_F(SecretTest, LivesBesideTheManifest) {
  EXPECT_EQ(SecretPath("/etc/ssivm/lab.toml"), "/etc/ssivm/lab.secret");
  EXPECT_EQ(SecretPath("cluster"), "cluster.secret");
}

TEST_F(SecretTest, IsMadeOnceWithMode0600AndReadBack) {
  const std::string manifest = Path("lab.toml");
  EXPECT_TRUE(EnsureSecret(manifest));
  const std::string path = SecretPath(manifest);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const cluster::ClusterSecret first = LoadSecret(path);
  EXPECT_FALSE(EnsureSecret(manifest));  // kept: every node must keep holding it
  EXPECT_EQ(LoadSecret(path), first);
  EXPECT_NE(NewSecret(), first);
}

TEST_F(SecretTest, ProblemsAreNamed) {
  EXPECT_THAT(ErrorOf(Path("none.secret")), HasSubstr("missing; `ssictl up`"));
  const std::string path = Path("s.secret");
  SaveSecret(NewSecret(), path);
  ::chmod(path.c_str(), 0644);
  EXPECT_THAT(ErrorOf(path), HasSubstr("mode 0644 lets other users read"));
  const std::string bad = Path("bad.secret");
  std::ofstream(bad) << "not hex\n";
  ::chmod(bad.c_str(), 0600);
  EXPECT_THAT(ErrorOf(bad), HasSubstr("not 64 hex digits"));
}

TEST_F(SecretTest, SymlinksAreNotFollowed) {
  // A link planted where the secret goes: reading refuses it, saving
  // replaces the link and leaves its target alone.
  const std::string target = Path("target");
  std::ofstream(target) << "precious\n";
  const std::string link = Path("lab.secret");
  fs::create_symlink(target, link);
  EXPECT_THAT(ErrorOf(link), HasSubstr("lab.secret"));
  SaveSecret(NewSecret(), link);
  EXPECT_FALSE(fs::is_symlink(link));
  std::ifstream in(target);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "precious");
}

}  // namespace
}  // namespace ssivm::provision
