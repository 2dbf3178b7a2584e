# Sourced by scripts/test: the Debian packages the test suite talks to for real
# (Chromium for the web UI's browser tests, rsyslog and its GnuTLS driver for syslog
# streams over TCP and TLS, libfaketime for a stream worker on a host whose clock is off).
# Installed only when missing; needs root or sudo, as on a
# fresh Debian machine or in CI.
set -euo pipefail
TRAILKEEPER_DEBIAN_PACKAGES=(chromium rsyslog rsyslog-gnutls libfaketime)
missing=()
for package in "${TRAILKEEPER_DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages for the tests: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
