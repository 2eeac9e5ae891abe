#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "common/temp_dir.h"
#include "provision/manifest/edit.h"
#include "provision/manifest/manifest.h"

namespace ssivm::provision {
namespace {

namespace fs = std::filesystem;

std::string Read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

ClusterManifest Two() {
  NewManifestOptions opt;
  opt.cluster_id = "t";
  return NewManifest({"n1", "n2"}, opt);
}

TEST(Save, WritesOnlyWhatChanged) {
  const TempDir dir("manifest-test");
  const std::string path = dir.path() + "/cluster.toml";
  EXPECT_TRUE(Save(Two(), path));
  EXPECT_EQ(Read(path), Write(Two()));
  EXPECT_FALSE(Save(Two(), path));
}

// A local user who can write the manifest's directory (e.g. /tmp) plants
// symbolic links where a writer would put its temporary file (the old
// "<path>.tmp.<pid>"): saving must neither write through them nor leave
// the manifest as a link.
TEST(Save, DoesNotFollowALinkPlantedAtAGuessableTemporaryPath) {
  const TempDir dir("manifest-test");
  const std::string victim = dir.path() + "/victim";
  std::ofstream(victim) << "precious";
  const std::string path = dir.path() + "/cluster.toml";
  fs::create_symlink(victim, path + ".tmp." + std::to_string(::getpid()));
  fs::create_symlink(victim, path + ".tmp");
  ASSERT_TRUE(Save(Two(), path));
  EXPECT_EQ(Read(victim), "precious");
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(path)));
  EXPECT_EQ(Read(path), Write(Two()));
}

}  // namespace
}  // namespace ssivm::provision
