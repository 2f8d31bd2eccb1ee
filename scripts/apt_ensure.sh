# Sourced by the scripts that set machines up (setup.sh, fuzz.sh):
#   apt_ensure TAG PKG...   installs the Debian packages among PKG that are not
#                           installed yet (apt-get update first), logging
#                           "[TAG] installing Debian packages: ..."; sudo when
#                           not root. Does nothing when all are installed.
apt_ensure() {
  local tag=$1; shift
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  printf '[%s] installing Debian packages: %s\n' "$tag" "${missing[*]}" >&2
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
