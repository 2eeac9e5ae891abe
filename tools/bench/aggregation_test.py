#!/usr/bin/env python3
"""aggregation.py's fault report: parsing the nodes' exit reports, naming
pages by kernel symbols, and the hottest page's share. Needs no KVM."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import aggregation  # noqa: E402

STDERR = """\
ssivm[node 1]: dsm: 40 read faults, 60 write faults, 3 pages sent, 4 received, 5 zero-filled, 6 invalidated, 7 messages
ssivm[node 1]: dsm: fault latency 1-2us:3
ssivm[node 1]: dsm: most faulted pages (address:faults): 0x1003000:50 0x2000000:10
ssivm[node 0]: dsm: 100 read faults, 200 write faults, 1 pages sent, 1 received, 1 zero-filled, 1 invalidated, 1 messages
ssivm[node 0]: dsm: most faulted pages (address:faults): 0x1003000:150 0x1001000:20
RESULT litmus PASS whatever
"""

NM = """\
0000000001000000 0000000000000010 T _start
0000000001001000 0000000000002800 B ssivm::guest::mem::(anonymous namespace)::g_nodes
0000000001003800 0000000000004000 B ssivm::guest::g_cpus
0000000001008000 B __kernel_end
"""


class FaultReportTest(unittest.TestCase):
    def test_parse_dsm(self):
        nodes = aggregation.parse_dsm(STDERR)
        self.assertEqual(nodes[0], {"faults": 300, "pages": [(0x1003000, 150), (0x1001000, 20)]})
        self.assertEqual(nodes[1], {"faults": 100, "pages": [(0x1003000, 50), (0x2000000, 10)]})

    def test_symbols_on_page(self):
        sym = aggregation.Symbols(NM.splitlines())
        self.assertEqual(sym.on_page(0x1003000), ("mem::g_nodes+0x2000", ["mem::g_nodes", "g_cpus"]))
        self.assertEqual(sym.on_page(0x1001000), ("mem::g_nodes", ["mem::g_nodes"]))
        self.assertEqual(sym.on_page(0x2000000), (None, []))

    def test_hot_pages(self):
        sym = aggregation.Symbols(NM.splitlines())
        r = aggregation.hot_pages(aggregation.parse_dsm(STDERR), sym)
        self.assertEqual(r["faults_per_node"], {"0": 300, "1": 100})
        self.assertEqual(r["total_faults"], 400)
        self.assertEqual(r["hottest_pages"][0], {
            "node": 0, "gpa": "0x1003000", "faults": 150, "symbol": "mem::g_nodes+0x2000",
            "on_page": ["mem::g_nodes", "g_cpus"]})
        self.assertEqual(len(r["hottest_pages"]), 4)
        # The same page on both nodes: 150 + 50 of 400 faults.
        self.assertEqual(r["hottest_page"], {"gpa": "0x1003000", "faults": 200,
                                             "symbol": "mem::g_nodes+0x2000"})
        self.assertEqual(r["hottest_page_share"], 0.5)

    def test_no_report(self):
        r = aggregation.hot_pages(aggregation.parse_dsm("nothing\n"), aggregation.Symbols([]))
        self.assertEqual(r["total_faults"], 0)
        self.assertNotIn("hottest_page_share", r)


if __name__ == "__main__":
    unittest.main()
