# Shared by scripts/up, scripts/test and scripts/bench: Debian packages, build, dev PKI.
# Sourced, not run. Every step is idempotent.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# What building and running Corridor needs, by Debian 12 package name.
RUN_PACKAGES="build-essential cmake pkg-config openssl libssl-dev libnghttp2-dev liblmdb-dev
  libxml2-dev libxslt1-dev libjansson-dev"
# What the test suite adds: cmocka, real clients (curl, nghttp), xmllint, jq, clang for fuzzing,
# promtool (prometheus) for /metrics, chromium to render the tracking page. (ops.sh installs
# its OpenAPI linter with npm, which needs Node 20.19+.)
TEST_PACKAGES="libcmocka-dev curl nghttp2-client libxml2-utils jq clang lmdb-utils nginx
  prometheus chromium"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_packages() {
    local missing=()
    for p in $*; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# build DIR [cmake args...]: configure and build; a failure shows the compiler's output and
# fails the caller (set -e), a success stays quiet.
build() {
    local dir=$1 log
    shift
    say "building in ${dir#$ROOT/}"
    log=$(mktemp)
    if ! { cmake -S "$ROOT" -B "$dir" "$@" && cmake --build "$dir" -j "$(nproc)"; } >"$log" 2>&1; then
        grep -vE '^\[ *[0-9]+%\]|^-- ' "$log" | tail -60
        rm -f "$log"
        say "build failed in ${dir#$ROOT/}"
        return 1
    fi
    rm -f "$log"
}

dev_pki() {
    [ -f "$ROOT/certs/dev/server.crt" ] && [ -f "$ROOT/certs/dev/crl.pem" ] && return 0
    say "making the dev PKI in certs/dev"
    "$ROOT/certs/make-dev-pki" >/dev/null
}
