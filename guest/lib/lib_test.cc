// Host unit tests for the pure parts of guest/lib (built with the host
// toolchain, not the kernel flags).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "guest/lib/cmdline.h"
#include "guest/lib/format.h"
#include "guest/lib/string.h"

namespace ssivm::guest {
namespace {

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buffer[256];
  va_list args;
  va_start(args, fmt);
  VFormatToBuffer(buffer, sizeof(buffer), fmt, args);
  va_end(args);
  return buffer;
}

// The supported subset must agree with the C library's printf.
#define EXPECT_LIKE_PRINTF(...)                             \
  do {                                                      \
    char expected[256];                                     \
    std::snprintf(expected, sizeof(expected), __VA_ARGS__); \
    EXPECT_EQ(Format(__VA_ARGS__), expected);               \
  } while (0)

TEST(Format, MatchesPrintf) {
  EXPECT_LIKE_PRINTF("plain text");
  EXPECT_LIKE_PRINTF("%d %d %d", 0, -1, 2147483647);
  EXPECT_LIKE_PRINTF("%i", -2147483647 - 1);
  EXPECT_LIKE_PRINTF("%u %lu %llu %zu", 4294967295u, 18446744073709551615ul, 1ull, sizeof(int));
  EXPECT_LIKE_PRINTF("%ld %lld", -9223372036854775807l - 1, -5ll);
  EXPECT_LIKE_PRINTF("%x %X %lx", 0xdeadbeefu, 0xabcu, 0x4b564d11ul);
  EXPECT_LIKE_PRINTF("%#x %#lx %#X %#x", 0x4d5650u, 0x310000ul, 0xabu, 0u);
  EXPECT_LIKE_PRINTF("[%5d] [%-5d] [%05d] [%05d]", 42, 42, 42, -42);
  EXPECT_LIKE_PRINTF("[%08x] [%#010x] [%-#8x]", 0x1fu, 0x1fu, 0x1fu);
  EXPECT_LIKE_PRINTF("[%s] [%8s] [%-8s] [%.3s] [%.*s]", "abc", "abc", "abc", "abcdef", 2, "xyz");
  // %hh and %h truncate an int argument, as printf does.
  EXPECT_LIKE_PRINTF("%c%c %% %hhu %hd", 'o', 'k', 300, 70000);  // NOLINT(clang-diagnostic-format)
  EXPECT_LIKE_PRINTF("%p", reinterpret_cast<void*>(0x1000000));
}

TEST(Format, BannerLine) {
  EXPECT_EQ(Format("ssivm guest kernel booting: %u vCPUs, %lu MiB RAM, host %s", 2u, 128ul, "pvm"),
            "ssivm guest kernel booting: 2 vCPUs, 128 MiB RAM, host pvm");
}

TEST(Format, TruncatesAndTerminates) {
  char buffer[6];
  EXPECT_EQ(FormatToBuffer(buffer, sizeof(buffer), "%s", "0123456789"), 10u);
  EXPECT_STREQ(buffer, "01234");
}

std::vector<std::string> Tokens(const char* text, size_t max = 4096) {
  std::vector<std::string> out;
  CmdlineTokenizer tokenizer(text, max);
  CmdlineOption option;
  while (tokenizer.Next(&option)) {
    std::string key(option.key.data, option.key.size);
    out.push_back(option.has_value
                      ? key + "=[" + std::string(option.value.data, option.value.size) + "]"
                      : key);
  }
  return out;
}

TEST(Cmdline, SplitsOnBlanksAndFirstEquals) {
  EXPECT_EQ(Tokens(""), std::vector<std::string>{});
  EXPECT_EQ(Tokens("   \t\n "), std::vector<std::string>{});
  EXPECT_EQ(Tokens("ssi.exit=7"), (std::vector<std::string>{"ssi.exit=[7]"}));
  EXPECT_EQ(Tokens("  console=ttyS0  quiet\tssi.fault=ud \n"),
            (std::vector<std::string>{"console=[ttyS0]", "quiet", "ssi.fault=[ud]"}));
  EXPECT_EQ(Tokens("a=b=c d= =e"), (std::vector<std::string>{"a=[b=c]", "d=[]", "=[e]"}));
}

TEST(Cmdline, StopsAtMaxSize) {
  EXPECT_EQ(Tokens("abc def", 5), (std::vector<std::string>{"abc", "d"}));
}

TEST(Cmdline, TokenIsTheWholeOption) {
  CmdlineTokenizer tokenizer("x ssi.bogus=1 y", 100);
  CmdlineOption option;
  ASSERT_TRUE(tokenizer.Next(&option));
  ASSERT_TRUE(tokenizer.Next(&option));
  EXPECT_EQ(std::string(option.token.data, option.token.size), "ssi.bogus=1");
  EXPECT_TRUE(option.key == "ssi.bogus");
  EXPECT_TRUE(option.key.StartsWith("ssi."));
}

TEST(ParseU64, DecimalAndHex) {
  uint64_t v = 99;
  EXPECT_TRUE(ParseU64("0", &v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(ParseU64("255", &v));
  EXPECT_EQ(v, 255u);
  EXPECT_TRUE(ParseU64("0x4D5650", &v));
  EXPECT_EQ(v, 0x4d5650u);
  EXPECT_TRUE(ParseU64("18446744073709551615", &v));
  EXPECT_EQ(v, ~uint64_t{0});
}

TEST(ParseU64, RejectsGarbage) {
  uint64_t v = 99;
  EXPECT_FALSE(ParseU64("", &v));
  EXPECT_FALSE(ParseU64("0x", &v));
  EXPECT_FALSE(ParseU64("-1", &v));
  EXPECT_FALSE(ParseU64("12a", &v));
  EXPECT_FALSE(ParseU64("0xfg", &v));
  EXPECT_FALSE(ParseU64("18446744073709551616", &v));
  EXPECT_EQ(v, 99u);
}

}  // namespace
}  // namespace ssivm::guest
