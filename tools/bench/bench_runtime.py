"""Where a Python benchmark measures (as tools/bench/bench_runtime.h for the
C++ ones): on this host's /dev/kvm, or, without one (or with --kvm emulated),
the whole benchmark runs again inside the emulated hardware-KVM machine
(`hwkvm run`), so that every number and floor comes from one run there. The
JSON's "runtime" says which."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HWKVM = os.path.join(ROOT, "bazel-bin", "tools", "hwkvm", "hwkvm")
INSIDE = "SSIVM_HWKVM_INSIDE"


def _host_kvm_usable(need_hardware):
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError:
        return False
    if not need_hardware:
        return True
    with open("/proc/cpuinfo") as f:  # VMX/SVM: hardware KVM (else PVM)
        flags = next((l for l in f if l.startswith("flags")), "").split()
    return "vmx" in flags or "svm" in flags


def add_argument(ap):
    ap.add_argument("--kvm", default="auto", choices=["auto", "host", "emulated"],
                    help="host, emulated (the whole benchmark inside the emulated "
                         "hardware-KVM machine) or auto (default; also $SSIVM_KVM)")


def emulated():
    """True when running inside the emulated machine."""
    return os.environ.get(INSIDE) == "1"


def run_inside_if_needed(kvm, memory_mib=2048, rw_dirs=(), need_hardware=False):
    """Returns None to measure here; else runs this script again inside the
    emulated machine (with --kvm host) and returns its exit status."""
    choice = kvm if kvm != "auto" else os.environ.get("SSIVM_KVM", "auto") or "auto"
    if choice == "host" or (choice == "auto" and _host_kvm_usable(need_hardware)):
        return None
    if not os.access(HWKVM, os.X_OK):
        sys.exit(f"{sys.argv[0]}: {HWKVM} is not there: build //tools/hwkvm first")
    print(f"{os.path.basename(sys.argv[0])}: measuring in the emulated hardware-KVM machine",
          file=sys.stderr)
    args = []
    skip = False
    for a in sys.argv[1:]:  # the same options, with --kvm host
        if skip:
            skip = False
        elif a == "--kvm":
            skip = True
        elif not a.startswith("--kvm="):
            args.append(a)
    cmd = [HWKVM, "run", "--memory", str(memory_mib)]
    for d in rw_dirs:
        cmd += ["--rw", d]
    cmd += ["--", sys.executable, os.path.abspath(sys.argv[0]), *args, "--kvm", "host"]
    return subprocess.run(cmd).returncode


def dirs_of(out):
    """The directory of an --out file (the emulated machine may write there)."""
    return [os.path.dirname(os.path.abspath(out))] if out else []


def emit(report, out=None):
    """Prints the JSON report, and writes it to `out` too."""
    text = json.dumps(report, indent=2)
    print(text)
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")


def runtime_json():
    """Where the numbers come from."""
    cpus = os.cpu_count()
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    j = {"kvm": "emulated" if emulated() else "host", "cpus": cpus, "memory_mib": mem}
    if emulated():
        j["note"] = ("inside the emulated hardware-KVM machine (QEMU TCG with SVM): every "
                     "instruction is emulated; compare ratios within this run, never absolute "
                     "times")
    return j
