# Shared by demo/run and tests/run: install what is missing, build the local image.
# Sourced, not executed.

DOKK_IMAGE="${DOKK_IMAGE:-dokk-demo:latest}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]} (Debian packages)" >&2
  as_root apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
    as_root apt-get update -q >/dev/null 2>&1
    as_root apt-get install -y -q "${missing[@]}" >/dev/null
  }
}

# The compose tool this machine has: `docker compose` (v2) or `docker-compose` (v1).
compose() {
  if docker compose version >/dev/null 2>&1; then
    docker compose "$@"
  else
    # v1 applies deploy.resources.limits only in compatibility mode.
    docker-compose --compatibility "$@"
  fi
}

ensure_docker() {
  if ! command -v docker >/dev/null 2>&1; then
    apt_install docker.io
  fi
  if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    apt_install docker-compose
  fi
  if ! docker info >/dev/null 2>&1; then
    echo "starting the Docker engine" >&2
    as_root systemctl start docker 2>/dev/null || as_root service docker start 2>/dev/null || {
      as_root sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
    }
    for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { echo "the Docker engine did not start; see /var/log/dockerd.log" >&2; return 1; }
  fi
}

ensure_image() {
  apt_install busybox-static
  if docker image inspect "$DOKK_IMAGE" >/dev/null 2>&1; then return 0; fi
  local dir
  dir=$(mktemp -d)
  cp "$(dirname "${BASH_SOURCE[0]}")/image/Dockerfile" "$dir/"
  cp /bin/busybox "$dir/busybox"
  echo "building $DOKK_IMAGE from busybox-static" >&2
  DOCKER_BUILDKIT=0 docker build -q -t "$DOKK_IMAGE" "$dir" >/dev/null 2>&1
  local rc=$?
  rm -rf "$dir"
  return $rc
}

ensure_rust() {
  command -v cargo >/dev/null 2>&1 && return 0
  echo "cargo is missing: install Rust >= 1.95 with rustup (https://rustup.rs)" >&2
  return 1
}

# A local AWS endpoint for the ECS tests: the moto server, from PyPI into a venv of ours.
ensure_moto() {
  local port="${DOKK_MOTO_PORT:-5055}"
  export DOKK_TEST_MOTO="http://127.0.0.1:$port"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/dokk/moto-venv"
  if [ ! -x "$venv/bin/moto_server" ]; then
    command -v python3 >/dev/null 2>&1 || apt_install python3
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
    echo "installing moto[server] (PyPI) into $venv" >&2
    "$venv/bin/pip" install -q 'moto[server]' >&2
  fi
  local log="${TMPDIR:-/tmp}/dokk-moto.log"
  nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  for _ in $(seq 1 60); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.5
  done
  echo "the moto server did not start; see $log" >&2
  return 1
}
