#!/usr/bin/env bash
# Install the Debian packages Lectern needs, only those that are missing, so a second run
# takes a moment. Usage: scripts/system_packages.sh run|test
set -euo pipefail

purpose="${1:-run}"
# ffmpeg: ffprobe and the system encoder; espeak-ng: the offline Mandarin voice;
# fonts-noto-cjk: Chinese slides; gettext: compiling the translation catalogs.
wanted=(ffmpeg espeak-ng fonts-noto-cjk gettext)
# npm: `npm ci` installs the front-end libraries pinned in package-lock.json (Debian's nodejs).
command -v npm >/dev/null 2>&1 || wanted+=(npm)
if ! command -v python3.11 >/dev/null 2>&1; then
    wanted+=(python3.11 python3.11-venv)
elif ! python3.11 -c "import ensurepip, venv" >/dev/null 2>&1; then
    wanted+=(python3.11-venv)
fi
if [ "$purpose" = "test" ]; then
    # Debian's Chromium drives the browser tests (Playwright never downloads a browser here).
    wanted+=(chromium)
fi

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for package in "${wanted[@]}"; do
    installed "$package" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "Installing system packages: ${missing[*]}"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "These Debian packages are missing: ${missing[*]}. Install them as root." >&2
        exit 1
    fi
    as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
