"""Fuzz targets: libFuzzer under --config=asan, a seed-corpus replay elsewhere.

ssivm_fuzz_test(name, srcs, deps) is a cc_test over one file that defines
LLVMFuzzerTestOneInput (tests/support/fuzz.h). Its seed corpus is the
directory NAME_corpus/ beside it. As a test it runs each seed once: with
fuzz_replay_main.cc in the default build, with libFuzzer (given files, it
runs them and exits) under --config=asan. tools/fuzz.sh finds every target
by its "fuzz" tag and fuzzes it for a bounded time under --config=asan.
"""

def ssivm_fuzz_test(name, srcs, deps = [], **kwargs):
    corpus = native.glob([name + "_corpus/*"])
    if not corpus:
        fail("fuzz target %s has no seed corpus (%s_corpus/)" % (name, name))
    native.cc_test(
        name = name,
        size = "small",
        srcs = srcs,
        deps = deps + ["//tests/support:fuzz"] + select({
            "//tests/support:libfuzzer": [],
            "//conditions:default": ["//tests/support:fuzz_replay_main"],
        }),
        linkopts = select({
            "//tests/support:libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        data = corpus,
        args = ["$(rootpath %s)" % f for f in corpus],
        tags = ["fuzz"],
        **kwargs
    )
