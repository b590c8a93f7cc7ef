# Sourced by the .ci/install-*.sh scripts: `apt_install PACKAGE...` installs Debian packages
# quietly (sudo when not root), printing apt's log only when it fails.
apt_install() {
    local sudo="" log
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    log="$(mktemp)"
    if ! { $sudo apt-get update -qq \
            && $sudo apt-get install -y -qq --no-install-recommends "$@"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}
