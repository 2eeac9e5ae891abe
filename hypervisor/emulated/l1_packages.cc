#include "hypervisor/emulated/l1_packages.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/command.h"
#include "common/error.h"
#include "common/unique_fd.h"

namespace ssivm::emulated {
namespace fs = std::filesystem;
namespace {

// Directories in `dir` whose names start with `prefix`, sorted.
std::vector<fs::path> Entries(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The versioned kernel package linux-image-amd64 depends on now.
std::string CurrentKernelPackage() {
  const CommandResult r = RunCommand({"apt-cache", "depends", "linux-image-amd64"});
  if (r.exit_code == 0) {
    std::istringstream in(r.output);
    std::string word, next;
    while (in >> word) {
      if (word == "Depends:" && in >> next && next.rfind("linux-image-", 0) == 0 &&
          next.size() > 12 && std::isdigit(static_cast<unsigned char>(next[12]))) {
        return next;
      }
    }
  }
  throw Error(
      "cannot tell which Debian kernel package to use: 'apt-cache depends linux-image-amd64' "
      "names none (run 'apt-get update' first)");
}

// The .deb of `pkg` in debs/, downloading it if absent.
fs::path FetchDeb(const fs::path& debs, const std::string& pkg, const ProgressFn& progress) {
  for (const fs::path& p : Entries(debs, pkg + "_")) {
    if (p.extension() == ".deb") return p;
  }
  progress(fmt::format("downloading Debian package {} into {}", pkg, debs.string()));
  const CommandResult r = RunCommand({"sh", "-c",
                                      fmt::format("cd {} && exec apt-get download {}",
                                                  ShellQuote(debs.string()), ShellQuote(pkg))});
  if (r.exit_code != 0) {
    throw Error(
        fmt::format("apt-get download {} failed (exit {}): {}", pkg, r.exit_code, r.output));
  }
  for (const fs::path& p : Entries(debs, pkg + "_")) {
    if (p.extension() == ".deb") return p;
  }
  throw Error(fmt::format("apt-get download {} left no .deb in {}", pkg, debs.string()));
}

// pkgs/<deb name without .deb>, unpacked once (marked by .done).
fs::path Unpack(const fs::path& deb, const fs::path& pkgs, const ProgressFn& progress) {
  fs::path dir = pkgs / deb.stem();
  if (fs::exists(dir / ".done")) return dir;
  progress(fmt::format("unpacking {}", deb.filename().string()));
  const fs::path part = dir.string() + ".part";
  fs::remove_all(part);
  fs::remove_all(dir);
  RunChecked({"dpkg-deb", "-x", deb.string(), part.string()});
  fs::rename(part, dir);
  std::ofstream(dir / ".done").put('\n');
  return dir;
}

std::string OnlyRelease(const fs::path& kernel_root) {
  const std::vector<fs::path> rel = Entries(kernel_root / "lib" / "modules", "");
  if (rel.size() != 1) {
    throw Error(fmt::format("{}: expected one lib/modules/<release>, found {}",
                            kernel_root.string(), rel.size()));
  }
  return rel[0].filename().string();
}

// A lock on the cache for the time of preparing it.
class CacheLock {
 public:
  explicit CacheLock(const fs::path& cache)
      : fd_(::open((cache / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (!fd_.valid()) ThrowErrno(fmt::format("cannot lock {}", (cache / ".lock").string()));
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) ThrowErrno(fmt::format("flock {}", (cache / ".lock").string()));
    }
  }

 private:
  UniqueFd fd_;
};

// The cache's debs/ and pkgs/, created if absent.
void CreateCacheDirs(const fs::path& cache) {
  std::error_code ec;
  fs::create_directories(cache / "debs", ec);
  fs::create_directories(cache / "pkgs", ec);
  if (ec) throw Error(fmt::format("cannot create the cache {}: {}", cache.string(), ec.message()));
}

// The completely unpacked directories in pkgs/ whose names start with
// `prefix`, sorted (the newest version last).
std::vector<fs::path> Unpacked(const fs::path& cache, const std::string& prefix) {
  std::vector<fs::path> done;
  for (const fs::path& p : Entries(cache / "pkgs", prefix)) {
    if (fs::exists(p / ".done")) done.push_back(p);
  }
  return done;
}

}  // namespace

std::string DefaultCacheDir() {
  if (const char* c = std::getenv("SSIVM_HWKVM_CACHE"); c != nullptr && *c != '\0') return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x == '/') {
    return fmt::format("{}/ssivm/hwkvm", x);
  }
  const char* home = std::getenv("HOME");
  return fmt::format("{}/.cache/ssivm/hwkvm", home != nullptr && *home == '/' ? home : "/tmp");
}

L1Packages PrepareL1Packages(const std::string& cache_dir, bool offline,
                             const ProgressFn& progress) {
  const fs::path cache(cache_dir);
  CreateCacheDirs(cache);
  CacheLock lock(cache);

  fs::path kernel_root, busybox_root;
  if (offline) {
    const auto kernels = Unpacked(cache, "linux-image-");
    const auto busyboxes = Unpacked(cache, "busybox-static_");
    if (kernels.empty() || busyboxes.empty()) {
      throw Error(fmt::format(
          "the cache {} holds no unpacked {}; prepare it online first (hwkvm fetch)", cache_dir,
          kernels.empty() ? "Debian kernel package" : "busybox-static package"));
    }
    kernel_root = kernels.back();
    busybox_root = busyboxes.back();
  } else {
    std::string kpkg;
    try {
      kpkg = CurrentKernelPackage();
    } catch (const Error&) {
      // No package lists: an unpacked kernel will do.
      const auto kernels = Unpacked(cache, "linux-image-");
      if (kernels.empty()) throw;
      kernel_root = kernels.back();
    }
    if (!kpkg.empty()) {
      kernel_root = Unpack(FetchDeb(cache / "debs", kpkg, progress), cache / "pkgs", progress);
    }
    busybox_root =
        Unpack(FetchDeb(cache / "debs", "busybox-static", progress), cache / "pkgs", progress);
  }

  L1Packages p;
  p.kernel_root = kernel_root.string();
  p.release = OnlyRelease(kernel_root);
  p.vmlinuz = (kernel_root / "boot" / ("vmlinuz-" + p.release)).string();
  p.modules_dir = (kernel_root / "lib" / "modules" / p.release).string();
  p.busybox = (busybox_root / "bin" / "busybox").string();
  if (!fs::is_regular_file(p.vmlinuz)) throw Error(fmt::format("{} is missing", p.vmlinuz));
  if (::access(p.busybox.c_str(), X_OK) != 0) {
    throw Error(fmt::format("{} is missing or not executable", p.busybox));
  }
  // modules.dep lets L1 load modules by name (and the kernel load them on
  // demand: veth, bridge, ...). The package ships none: depmod makes it.
  const fs::path marker = kernel_root / ".depmod-done";
  if (!fs::exists(marker)) {
    progress(fmt::format("indexing the modules of {} (depmod)", p.release));
    RunChecked({p.busybox, "depmod", "-b", p.kernel_root, p.release});
    std::ofstream(marker).put('\n');
  }
  return p;
}

const std::vector<std::string>& GuestWorkloadPackages() {
  static const std::vector<std::string> kPackages = {
      // The workloads; the loader, libc and libm; numactl's libnuma.
      "stress-ng", "memtester", "numactl", "libc6", "libnuma1",
      // The libraries stress-ng loads.
      "libapparmor1", "libbsd0", "libcrypt1", "libegl1", "libgbm1", "libgles2", "libipsec-mb1",
      "libjpeg62-turbo", "libjudydebian1", "libkmod2", "libsctp1", "libxxhash0", "zlib1g",
      // Theirs: libGLdispatch (libEGL, libGLESv2), libmd (libbsd), libzstd,
      // liblzma, libcrypto (libkmod), libdrm, libexpat, libwayland-server
      // (libgbm), libffi (libwayland-server).
      "libglvnd0", "libmd0", "libzstd1", "liblzma5", "libssl3", "libdrm2", "libexpat1",
      "libwayland-server0", "libffi8"};
  return kPackages;
}

std::vector<std::string> PrepareGuestWorkloadPackages(const std::string& cache_dir, bool offline,
                                                      const ProgressFn& progress) {
  const fs::path cache(cache_dir);
  CreateCacheDirs(cache);
  CacheLock lock(cache);
  std::vector<std::string> roots, missing;
  for (const std::string& pkg : GuestWorkloadPackages()) {
    if (offline) {
      const auto done = Unpacked(cache, pkg + "_");
      if (done.empty()) {
        missing.push_back(pkg);
      } else {
        roots.push_back(done.back().string());
      }
      continue;
    }
    roots.push_back(
        Unpack(FetchDeb(cache / "debs", pkg, progress), cache / "pkgs", progress).string());
  }
  if (!missing.empty()) {
    throw Error(fmt::format(
        "the cache {} lacks the unpacked Debian packages of the Linux test guest's workloads: {}; "
        "prepare it online first (hwkvm fetch)",
        cache_dir, fmt::join(missing, ", ")));
  }
  return roots;
}

}  // namespace ssivm::emulated
