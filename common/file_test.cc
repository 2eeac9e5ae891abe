#include "common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/temp_dir.h"

namespace ssivm {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr uid_t kNobody = 65534;

std::string Read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Only the files the test made: no temporary file is left behind.
size_t Entries(const std::string& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), {}));
}

TEST(WriteFileAtomic, WritesAndReplacesWithTheGivenMode) {
  const TempDir dir("file-test");
  const std::string path = dir.path() + "/f";
  WriteFileAtomic(path, "one", 0644);
  EXPECT_EQ(Read(path), "one");
  EXPECT_EQ(ModeOf(path), 0644u);
  WriteFileAtomic(path, "two", 0600);
  EXPECT_EQ(Read(path), "two");
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(Entries(dir.path()), 1u);
}

TEST(WriteFileAtomic, ReplacesASymlinkAtThePathWithoutWritingThroughIt) {
  const TempDir dir("file-test");
  const std::string victim = dir.path() + "/victim";
  WriteFileAtomic(victim, "precious", 0644);
  const std::string path = dir.path() + "/f";
  fs::create_symlink(victim, path);
  WriteFileAtomic(path, "new", 0644);
  EXPECT_EQ(Read(victim), "precious");
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(path)));
  EXPECT_EQ(Read(path), "new");
}

TEST(CreateFileExclusive, CreatesOnlyWhereNothingIs) {
  const TempDir dir("file-test");
  const std::string path = dir.path() + "/f";
  EXPECT_TRUE(CreateFileExclusive(path, "first", 0600));
  EXPECT_EQ(Read(path), "first");
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_FALSE(CreateFileExclusive(path, "second", 0600));
  EXPECT_EQ(Read(path), "first");
  // A dangling symbolic link counts as something: it is not followed.
  const std::string link = dir.path() + "/link";
  fs::create_symlink(dir.path() + "/target", link);
  EXPECT_FALSE(CreateFileExclusive(link, "x", 0600));
  EXPECT_FALSE(fs::exists(dir.path() + "/target"));
  EXPECT_EQ(Entries(dir.path()), 2u);
}

// Provisioning runs again and again (OSCAR's scripts must be idempotent):
// a file that is there leaves its directory as it was, modification time
// included.
TEST(CreateFileExclusive, LeavesTheDirectoryUntouchedWhenTheFileIsThere) {
  const TempDir dir("file-test");
  const std::string path = dir.path() + "/f";
  ASSERT_TRUE(CreateFileExclusive(path, "first", 0600));
  const timespec old{1000000000, 0};
  const timespec times[2] = {old, old};
  ASSERT_EQ(::utimensat(AT_FDCWD, dir.path().c_str(), times, 0), 0);
  EXPECT_FALSE(CreateFileExclusive(path, "second", 0600));
  struct stat st {};
  ASSERT_EQ(::stat(dir.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, old.tv_sec);
}

TEST(EnsurePrivateDir, MakesMissingDirectoriesOwnerOnly) {
  const TempDir dir("file-test");
  const std::string path = dir.path() + "/a/b/";
  EnsurePrivateDir(path, ExistingDir::kKeep);
  EXPECT_EQ(ModeOf(dir.path() + "/a"), 0700u);
  EXPECT_EQ(ModeOf(dir.path() + "/a/b"), 0700u);
  EnsurePrivateDir(path, ExistingDir::kKeep);  // there now: fine
}

TEST(EnsurePrivateDir, TightensOrKeepsAnExistingOne) {
  const TempDir dir("file-test");
  const std::string path = dir.path() + "/d";
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0755), 0);
  EnsurePrivateDir(path, ExistingDir::kKeep);
  EXPECT_EQ(ModeOf(path), 0755u);
  EnsurePrivateDir(path, ExistingDir::kTighten);
  EXPECT_EQ(ModeOf(path), 0700u);
}

TEST(EnsurePrivateDir, RefusesWhatOthersCouldControl) {
  const TempDir dir("file-test");
  const std::string writable = dir.path() + "/w";
  ASSERT_EQ(::mkdir(writable.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(writable.c_str(), 0777), 0);
  try {
    EnsurePrivateDir(writable, ExistingDir::kTighten);
    ADD_FAILURE() << "a directory others can write was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(writable + " is writable by other users (mode 0777)"));
  }
  const std::string link = dir.path() + "/l";
  fs::create_symlink(dir.path(), link);
  try {
    EnsurePrivateDir(link, ExistingDir::kKeep);
    ADD_FAILURE() << "a symbolic link was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(link + " is a symbolic link"));
  }
}

TEST(EnsurePrivateDir, RefusesADirectoryOwnedByAnotherUser) {
  const TempDir dir("file-test");
  std::string theirs = "/";  // root's, for a test not run as root
  if (::geteuid() == 0) {
    theirs = dir.path() + "/theirs";
    ASSERT_EQ(::mkdir(theirs.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(theirs.c_str(), 0755), 0);
    ASSERT_EQ(::chown(theirs.c_str(), kNobody, kNobody), 0) << ErrnoText(errno);
  }
  try {
    EnsurePrivateDir(theirs, ExistingDir::kTighten);
    ADD_FAILURE() << "another user's directory was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("directory " + theirs + " is owned by uid "));
    EXPECT_THAT(e.what(), HasSubstr("not by this user"));
  }
  if (::geteuid() == 0) {
    EXPECT_EQ(ModeOf(theirs), 0755u);  // untouched
  }
}

}  // namespace
}  // namespace ssivm
