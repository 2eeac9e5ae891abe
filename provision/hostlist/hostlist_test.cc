#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "provision/hostlist/hostlist.h"

namespace ssivm::provision {
namespace {

using Hosts = std::vector<std::string>;

std::string ErrorOf(const std::string& text) {
  try {
    ParseHostList(text, "nodes.txt");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return "";
}

TEST(HostRange, Plain) {
  EXPECT_EQ(ExpandHostRange("head"), Hosts{"head"});
}

TEST(HostRange, Range) {
  EXPECT_EQ(ExpandHostRange("node[1-3]"), (Hosts{"node1", "node2", "node3"}));
  EXPECT_EQ(ExpandHostRange("node[8-11]"), (Hosts{"node8", "node9", "node10", "node11"}));
}

TEST(HostRange, ZeroPadding) {
  EXPECT_EQ(ExpandHostRange("node[08-10]"), (Hosts{"node08", "node09", "node10"}));
  EXPECT_EQ(ExpandHostRange("n[001-002]"), (Hosts{"n001", "n002"}));
}

TEST(HostRange, ListsAndSuffix) {
  EXPECT_EQ(ExpandHostRange("host[1-3,7]"), (Hosts{"host1", "host2", "host3", "host7"}));
  EXPECT_EQ(ExpandHostRange("r1-n[2-3].ib"), (Hosts{"r1-n2.ib", "r1-n3.ib"}));
}

TEST(HostRange, Errors) {
  EXPECT_THROW(ExpandHostRange("node[3-1]"), Error);
  EXPECT_THROW(ExpandHostRange("node[1-"), Error);
  EXPECT_THROW(ExpandHostRange("node[]"), Error);
  EXPECT_THROW(ExpandHostRange("node[a-b]"), Error);
  EXPECT_THROW(ExpandHostRange("node[1-2][3-4]"), Error);
  EXPECT_THROW(ExpandHostRange("node]"), Error);
  EXPECT_THROW(ExpandHostRange("node[1,,2]"), Error);
  EXPECT_THROW(ExpandHostRange("node[0-999999999]"), Error);
  EXPECT_THROW(ExpandHostRange("bad!host"), Error);
}

TEST(HostList, CommentsBlankLinesAndSeveralPerLine) {
  EXPECT_EQ(ParseHostList("# cluster\nhead  # the head\n\n  node[1-2] n9\r\n", "f"),
            (Hosts{"head", "node1", "node2", "n9"}));
}

TEST(HostList, ErrorsNameFileAndLine) {
  EXPECT_EQ(ErrorOf("a\nnode[2-1]\n"), "nodes.txt:2: 'node[2-1]': range 2-1 is descending");
  EXPECT_EQ(ErrorOf("node[1-3]\nnode2\n"),
            "nodes.txt:2: host 'node2' is listed twice (also line 1)");
  EXPECT_EQ(ErrorOf("# nothing\n"), "nodes.txt: no hosts listed");
  EXPECT_EQ(ErrorOf("a\n\nb@c\n"), "nodes.txt:3: 'b@c': invalid character '@' in host name");
}

}  // namespace
}  // namespace ssivm::provision
