#!/usr/bin/env python3
"""Writes compile_commands.json for clangd and clang-tidy from `bazel aquery`.

    python3 tools/compile_commands.py [TARGET_PATTERN ...]   (default //...)

Each C++ compile action of the project's own sources becomes one entry whose
paths point into the real tree (external/ and bazel-out/ paths are made
absolute); flags only GCC understands are dropped.
"""
import json
import os
import subprocess
import sys

GCC_ONLY = {"-fno-canonical-system-headers"}
TAKES_PATH = {"-I", "-iquote", "-isystem", "-idirafter", "-o", "-MF"}


def bazel(*args):
    return subprocess.run(["bazel", *args], check=True, capture_output=True, text=True).stdout


def main():
    patterns = sys.argv[1:] or ["//..."]
    workspace = bazel("info", "workspace").strip()
    execroot = bazel("info", "execution_root").strip()
    output_base = bazel("info", "output_base").strip()

    def fix(path):
        if path.startswith("external/"):
            return os.path.join(output_base, path)
        if path.startswith("bazel-out/"):
            return os.path.join(execroot, path)
        return path

    query = "mnemonic('CppCompile', {})".format(" + ".join(patterns))
    actions = json.loads(bazel("aquery", query, "--output=jsonproto")).get("actions", [])
    entries = {}
    for action in actions:
        args, out, source = action["arguments"], [], None
        it = iter(range(len(args)))
        for i in it:
            a = args[i]
            if a in GCC_ONLY or a.startswith("-D__DATE__") or a.startswith("-D__TIME"):
                continue
            if a in TAKES_PATH and i + 1 < len(args):
                out += [a, fix(args[i + 1])]
                next(it)
            elif a == "-c" and i + 1 < len(args):
                source = args[i + 1]
                out += [a, source]
                next(it)
            else:
                out.append(a)
        if source and not source.startswith(("external/", "bazel-out/")):
            entries.setdefault(source, {"directory": workspace, "file": source, "arguments": out})
    path = os.path.join(workspace, "compile_commands.json")
    with open(path, "w") as f:
        json.dump(sorted(entries.values(), key=lambda e: e["file"]), f, indent=1)
    print("wrote {} entries to {}".format(len(entries), path))


if __name__ == "__main__":
    main()
