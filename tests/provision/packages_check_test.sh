#!/usr/bin/env bash
# ssictl packages check: exit 0 and the closure for the ssivm package set,
# exit 1 and the exact reasons for real OSCAR sets and conflicting sets.
set -eu
ssictl=$1
oscar=provision/packages/testdata/oscar
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_contains() {  # file text
  grep -qF -- "$2" "$1" || fail "$1 lacks '$2': $(cat "$1")"
}

"$ssictl" packages check provision/oscar/package_sets/ssivm/debian-12-x86_64.xml \
  --packages "$oscar/packages" --packages provision/oscar > "$tmp/out" 2> "$tmp/err" ||
  fail "ssivm set: $(cat "$tmp/err")"
expect_contains "$tmp/out" "package set ssivm for debian-12-x86_64: 9 requested, 36 packages"
expect_contains "$tmp/out" "closure (9 packages):"
expect_contains "$tmp/out" "  ssivm 0.1.0-1 (requested ssivm)"
expect_contains "$tmp/out" "distribution packages, client: "
expect_contains "$tmp/out" "ssivm-node"

status=0
"$ssictl" packages check "$oscar/package_sets/Default/debian-11-x86_64.xml" \
  --packages "$oscar/packages" > "$tmp/out" 2> "$tmp/err" || status=$?
[ "$status" = 1 ] || fail "Default set exited $status"
expect_contains "$tmp/err" "package set Default cannot be resolved (1 problems):"
expect_contains "$tmp/err" "missing: the set requests 'switcher', but no package has that name or provides it"

mkdir -p "$tmp/sets"
cat > "$tmp/sets/debian-12-x86_64.xml" <<'XML'
<package_set><name>clash</name><packages><opkg>ssivm</opkg><opkg>torque</opkg></packages></package_set>
XML
status=0
"$ssictl" packages check "$tmp/sets/debian-12-x86_64.xml" --packages "$oscar/packages" \
  --packages provision/oscar > "$tmp/out" 2> "$tmp/err" || status=$?
[ "$status" = 1 ] || fail "clash set exited $status"
expect_contains "$tmp/err" "conflict: ssivm conflicts with torque: ssivm's clientDeps <conflicts> opkg-torque-client"

echo '<package_set><name>x</name>' > "$tmp/sets/broken.xml"
status=0
"$ssictl" packages check "$tmp/sets/broken.xml" --packages "$oscar/packages" 2> "$tmp/err" ||
  status=$?
[ "$status" = 1 ] || fail "broken set exited $status"
expect_contains "$tmp/err" "broken.xml:2: Premature end of data in tag package_set"

if [ "$failures" -ne 0 ]; then
  echo "$failures failures" >&2
  exit 1
fi
echo "all checks passed"
