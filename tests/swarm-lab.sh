#!/usr/bin/env bash
# swarm-lab.sh — a multi-node Docker Swarm on this one Linux host, for dokk's tests and demo.
#
# Each node is its own dockerd (+ its managed containerd) in its own network namespace
# (SWLAB_PREFIX-nN), own UTS namespace (hostname SWLAB_PREFIX-nN) and own private mount
# namespace; the nodes are wired by veth pairs into a bridge that lives in a separate "switch"
# namespace (SWLAB_PREFIX-sw), so the host's netns, iptables and default engine are untouched.
# Each node's directory is named by its hostname, so one template reaches every engine:
#   unix://$SWLAB_DIR/{hostname}/docker.sock   e.g. unix:///tmp/dokk-swarmlab/dokksw-n1/docker.sock
#
#   swarm-lab.sh up        namespaces, dockerds, swarm init + join, zone labels, lab images;
#                          idempotent (already up: only ensures labels + images); touches
#                          $SWLAB_DIR/ready as its last step, writes $SWLAB_DIR/failed on failure
#   swarm-lab.sh down      tear everything down (dockerds, shims, cgroups, netns, $SWLAB_DIR);
#                          safe when nothing is up
#   swarm-lab.sh status    nodes and services as the manager sees them
#   swarm-lab.sh env N     print `export DOCKER_HOST=...` for node N
#   swarm-lab.sh kill N    SIGKILL node N's dockerd (simulated node crash)
#   swarm-lab.sh start N   (re)start node N's dockerd; it rejoins the swarm by itself
#   swarm-lab.sh load IMG  copy an image from the default engine into every node (save | load)
#   swarm-lab.sh smoke     replicas, spread, health, update, rollback, drain, crash + reschedule
#
# Knobs (environment): SWLAB_DIR (/tmp/dokk-swarmlab), SWLAB_PREFIX (dokksw), SWLAB_NODES (3),
#   SWLAB_MANAGERS (1; the first N nodes are managers), SWLAB_NET (192.168.233; node i is .1i),
#   SWLAB_HEARTBEAT (1s; the engine default is 5s), SWLAB_CPUS_<i> (a taskset CPU list for node i),
#   SWLAB_MEM_MB_<i> (node i reports this MemTotal), SWLAB_DRIVER (overlay2).
# Made on `up`: $SWLAB_DIR/nodes (one line a node: hostname socket ip zone role),
#   node labels zone=eu-west-1a/b/c (n1/n2/n3, then round again), images dokk-swarm/app:v1,
#   :v2 (healthy, differ by VERSION env + label) and :v3-bad (exits 3 after 1 s) on every node.
# Needs root, iproute2, util-linux (nsenter, unshare, taskset), docker.io (dockerd, containerd,
# runc), busybox-static (/bin/busybox, for the lab images). Without IP_VS in the kernel, service
# VIPs and the ingress routing mesh do not work; overlay networks, dnsrr and host ports do.
set -euo pipefail

LAB=${SWLAB_DIR:-/tmp/dokk-swarmlab}
P=${SWLAB_PREFIX:-dokksw}
N=${SWLAB_NODES:-3}
MANAGERS=${SWLAB_MANAGERS:-1}
NET=${SWLAB_NET:-192.168.233}
HEARTBEAT=${SWLAB_HEARTBEAT:-1s}
DRIVER=${SWLAB_DRIVER:-overlay2}
IMG=dokk-swarm/app
IMAGES=("$IMG:v1" "$IMG:v2" "$IMG:v3-bad")
ZONES=(eu-west-1a eu-west-1b eu-west-1c)

host_of() { echo "$P-n$1"; }
ip_of() { echo "$NET.1$1"; }
ndir() { echo "$LAB/$P-n$1"; }
sock() { echo "$LAB/$P-n$1/docker.sock"; }
zone_of() { echo "${ZONES[$(( ($1 - 1) % ${#ZONES[@]} ))]}"; }
d() { local n=$1; shift; docker -H "unix://$(sock "$n")" "$@"; }
now() { date +%s%N; }
since() { local e=$(( $(now) - $1 )); printf '%d.%03ds' $((e / 1000000000)) $(((e / 1000000) % 1000)); }
LAST_LOG=
log() { LAST_LOG="$*"; echo "[swarm-lab $(date +%T)] $*" >&2; }
running() { # a live process, not a zombie that PID 1 has yet to reap
  local st; st=$(cut -d')' -f2 "/proc/$1/stat" 2>/dev/null | awk '{print $1}') || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
alive() { [ -f "$(ndir "$1")/docker.pid" ] && running "$(cat "$(ndir "$1")/docker.pid")"; }
nodes() { seq 1 "$N"; }

write_node_start() {
  mkdir -p "$LAB"
  echo '{}' > "$LAB/daemon.json"   # so /etc/docker/daemon.json (data-root, driver) is not read
  cat > "$LAB/node-start.sh" <<'EOF'
#!/bin/sh
# Runs in the node's netns, in a new mount + UTS namespace (nsenter --net ... unshare --mount --uts):
# a fresh /sys for this netns with the host's cgroup tree bound back into it, an optional fake
# MemTotal, the node's hostname, then dockerd.
set -e
DIR=$1; LAB=$2; NAME=$3; DRIVER=$4; MEM_MB=${5:-}
mkdir -p "$DIR/cg"
mount --rbind /sys/fs/cgroup "$DIR/cg"
umount -l /sys
mount -t sysfs sysfs /sys
mount --rbind "$DIR/cg" /sys/fs/cgroup
umount -l "$DIR/cg"
if [ -n "$MEM_MB" ]; then
  sed "s/^MemTotal:.*/MemTotal:       $((MEM_MB * 1024)) kB/" /proc/meminfo > "$DIR/meminfo"
  mount --bind "$DIR/meminfo" /proc/meminfo
fi
hostname "$NAME"
exec dockerd --config-file "$LAB/daemon.json" --data-root "$DIR/data" --exec-root "$DIR/exec" \
  --pidfile "$DIR/docker.pid" -H "unix://$DIR/docker.sock" --storage-driver "$DRIVER" \
  --cgroup-parent "/$NAME" --log-level info
EOF
  chmod +x "$LAB/node-start.sh"
}

net_up() {
  local i
  ip netns add "$P-sw"
  ip -n "$P-sw" link add br0 type bridge
  ip -n "$P-sw" link set lo up
  ip -n "$P-sw" link set br0 up
  for i in $(nodes); do
    ip netns add "$P-n$i"
    ip link add "$P$i-h" type veth peer name eth0 netns "$P-n$i"
    ip link set "$P$i-h" netns "$P-sw"
    ip -n "$P-sw" link set "$P$i-h" master br0 up
    ip -n "$P-n$i" addr add "$(ip_of "$i")/24" dev eth0
    ip -n "$P-n$i" link set eth0 up
    ip -n "$P-n$i" link set lo up
  done
}

launch_node() { # start node i's dockerd in the background (no wait)
  local i=$1 cpus mem dir pre=()
  dir=$(ndir "$i"); mkdir -p "$dir"
  alive "$i" && return 0
  rm -f "$dir/docker.pid" # a SIGKILLed dockerd's (dockerd refuses it while the pid is an unreaped zombie)
  local cpid; cpid=$(cat "$dir/exec/containerd/containerd.pid" 2>/dev/null || true)
  if [ -n "$cpid" ]; then # its containerd, dying or orphaned: a new dockerd would try to reuse it
    if running "$cpid" && tr '\0' ' ' < "/proc/$cpid/cmdline" | grep -q "$dir/exec/containerd"; then
      kill -9 "$cpid" 2>/dev/null || true
      for _ in $(seq 1 50); do running "$cpid" || break; sleep 0.1; done
    fi
    rm -f "$dir/exec/containerd/containerd.pid"
  fi
  cpus=$(eval "echo \${SWLAB_CPUS_$i:-}"); mem=$(eval "echo \${SWLAB_MEM_MB_$i:-}")
  [ -n "$cpus" ] && pre=(taskset -c "$cpus")
  # setsid: its own session, so a Ctrl-C or hangup of the terminal that ran `up` does not reach it
  setsid nsenter --net="/run/netns/$P-n$i" unshare --mount --uts --propagation slave "${pre[@]}" \
    "$LAB/node-start.sh" "$dir" "$LAB" "$(host_of "$i")" "$DRIVER" "$mem" \
    >> "$dir/dockerd.log" 2>&1 < /dev/null 9>&- &
  echo $! > "$dir/launch.pid" # setsid, then nsenter, unshare, node-start.sh and dockerd (each an exec)
  disown
}

wait_node() { # wait up to 60 s for node i's API (less if its dockerd exits)
  local i=$1 t0=$2
  for _ in $(seq 1 300); do
    d "$i" version >/dev/null 2>&1 && { log "$(host_of "$i") engine up in $(since "$t0")"; return 0; }
    running "$(cat "$(ndir "$i")/launch.pid" 2>/dev/null || echo 0)" || break # dockerd exited
    sleep 0.2
  done
  log "$(host_of "$i") did not start; see $(ndir "$i")/dockerd.log"; tail -5 "$(ndir "$i")/dockerd.log" >&2
  return 1
}

start_node() { local t0; t0=$(now); launch_node "$1"; wait_node "$1" "$t0"; }

lab_dockerd_pids() { # every dockerd of this lab, found by its --config-file (covers a lost pidfile)
  pgrep -f "^dockerd --config-file $LAB/daemon.json " || true
}

stop_nodes() { # SIGTERM every lab dockerd (containers are stopped), SIGKILL after 20 s
  local pids p i
  pids=$(lab_dockerd_pids)
  for i in $(nodes); do alive "$i" && pids="$pids $(cat "$(ndir "$i")/docker.pid")"; done
  pids=$(echo "$pids" | xargs -n1 2>/dev/null | sort -u | xargs)
  [ -n "$pids" ] || return 0
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    local left=""; for p in $pids; do running "$p" && left="$left $p"; done
    [ -z "$left" ] && return 0
    sleep 0.2
  done
  for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
  sleep 0.2
}

kill_shims() { # shims (and their containers) left by a SIGKILLed dockerd; no arg: all of the lab's
  local where s c
  if [ -n "${1:-}" ]; then where="$(ndir "$1")/exec/"; else where="$LAB/$P-n"; fi
  for s in $(pgrep -f "containerd-shim.* -address $where" || true); do
    for c in $(pgrep -P "$s" || true); do kill -9 "$c" 2>/dev/null || true; done
    kill -9 "$s" 2>/dev/null || true
  done
}

swarm_up() {
  local t0 wt mt i tok ready
  t0=$(now)
  if [ "$(d 1 info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    d 1 swarm init --advertise-addr "$(ip_of 1)" --listen-addr "$(ip_of 1):2377" \
      --dispatcher-heartbeat "$HEARTBEAT" >/dev/null
  fi
  wt=$(d 1 swarm join-token -q worker); mt=$(d 1 swarm join-token -q manager)
  for i in $(seq 2 "$N"); do
    [ "$(d "$i" info --format '{{.Swarm.LocalNodeState}}')" = inactive ] || continue # pending: rejoining
    tok=$wt; [ "$i" -le "$MANAGERS" ] && tok=$mt
    d "$i" swarm join --token "$tok" --advertise-addr "$(ip_of "$i")" --listen-addr "$(ip_of "$i"):2377" \
      "$(ip_of 1):2377" >/dev/null
  done
  for _ in $(seq 1 150); do
    ready=$(d 1 node ls --format '{{.Status}}' | grep -c Ready || true)
    [ "$ready" = "$N" ] && { log "swarm of $N nodes ready in $(since "$t0")"; return 0; }
    sleep 0.2
  done
  log "only $ready of $N nodes Ready after 30 s"; d 1 node ls >&2; return 1
}

label_nodes() { # zone labels, and $LAB/nodes for the tests
  local i role
  : > "$LAB/nodes.tmp"
  for i in $(nodes); do
    d 1 node update --label-add "zone=$(zone_of "$i")" "$(host_of "$i")" >/dev/null
    role=worker; [ "$i" -le "$MANAGERS" ] && role=manager
    echo "$(host_of "$i") unix://$(sock "$i") $(ip_of "$i") $(zone_of "$i") $role" >> "$LAB/nodes.tmp"
  done
  mv "$LAB/nodes.tmp" "$LAB/nodes"
}

has_images() { local i=$1 img; for img in "${IMAGES[@]}"; do d "$i" image inspect "$img" >/dev/null 2>&1 || return 1; done; }

build_images() { # on n1, FROM scratch with busybox-static; no RUN step, so no build container
  local dir=$LAB/img
  rm -rf "$dir"; mkdir -p "$dir/root/bin"
  cp /bin/busybox "$dir/root/bin/busybox"
  local a; for a in sh echo sleep hostname true false cat ls ps env date wget nc; do
    ln -s busybox "$dir/root/bin/$a"
  done
  cat > "$dir/Dockerfile" <<'EOF'
FROM scratch
COPY root/ /
ARG VERSION=v1
ENV VERSION=$VERSION PATH=/bin
LABEL org.opencontainers.image.title="dokk swarm lab app" org.opencontainers.image.version=$VERSION
HEALTHCHECK --interval=1s --timeout=1s --retries=3 CMD ["/bin/true"]
STOPSIGNAL SIGTERM
CMD ["/bin/sh", "-c", "echo start $VERSION on $(hostname); trap 'echo stop $VERSION; exit 0' TERM; n=0; while true; do n=$((n+1)); echo tick $VERSION $n; sleep 1 & wait $!; done"]
EOF
  printf 'FROM %s:v1\nENV VERSION=v3-bad\nLABEL org.opencontainers.image.version=v3-bad\nCMD ["/bin/sh","-c","echo v3 crashing; sleep 1; exit 3"]\n' "$IMG" > "$dir/Dockerfile.bad"
  local v
  for v in v1 v2; do build_quiet --build-arg "VERSION=$v" -t "$IMG:$v" "$dir"; done
  build_quiet -f "$dir/Dockerfile.bad" -t "$IMG:v3-bad" "$dir"
  rm -rf "$dir"
}

build_quiet() { # the legacy builder (DOCKER_BUILDKIT=0); its output only if it fails
  local out
  out=$(DOCKER_BUILDKIT=0 d 1 build -q "$@" 2>&1) || { echo "$out" >&2; return 1; }
}

lab_images() { # build on n1 if missing there, then save | load into every node that lacks them
  local t0 i need=() pids=() rc=0
  t0=$(now)
  if ! has_images 1; then build_images; log "lab images built on $(host_of 1) in $(since "$t0")"; fi
  for i in $(seq 2 "$N"); do has_images "$i" || need+=("$i"); done
  [ ${#need[@]} -eq 0 ] && { log "lab images present on all $N nodes (checked in $(since "$t0"))"; return 0; }
  d 1 save "${IMAGES[@]}" > "$LAB/img.tar"
  for i in "${need[@]}"; do d "$i" load -q -i "$LAB/img.tar" >/dev/null & pids+=($!); done
  for i in "${pids[@]}"; do wait "$i" || rc=1; done
  rm -f "$LAB/img.tar"
  [ $rc = 0 ] || { log "loading the lab images failed"; return 1; }
  log "lab images on all $N nodes in $(since "$t0")"
}

cmd_load() { # an image of the default engine into every node
  local img=$1 i; docker save "$img" > "$LAB/load.tar"
  for i in $(nodes); do d "$i" load -q -i "$LAB/load.tar" >/dev/null; done; rm -f "$LAB/load.tar"
}

is_up() { # the switch, every node's netns and the manager's swarm are there (dead workers may be restarted)
  local i
  ip netns list | grep -q "^$P-sw\b" || return 1
  for i in $(nodes); do ip netns list | grep -q "^$P-n$i\b" || return 1; done
  [ -x "$LAB/node-start.sh" ] && alive 1 || return 1
  [ "$(d 1 info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)" = active ]
}

STAGE=start
up_exit() { # EXIT trap of `up`: $LAB/failed with the reason unless it finished
  local rc=$?
  [ $rc = 0 ] && return 0
  mkdir -p "$LAB"
  {
    echo "swarm-lab up failed (exit $rc) while: $STAGE"
    [ -n "$LAST_LOG" ] && echo "last message: $LAST_LOG"
    case "${FAILED_CMD:-return}" in return*) ;; *) echo "failed command: $FAILED_CMD" ;; esac
    local f; for f in "$LAB"/"$P"-n*/dockerd.log; do
      [ -f "$f" ] && { echo "--- tail of $f"; tail -3 "$f"; }
    done
  } > "$LAB/failed" 2>/dev/null || true
  rm -f "$LAB/ready"
  log "FAILED while $STAGE (exit $rc); see $LAB/failed"
}

cmd_up() {
  local t0 i; t0=$(now)
  set -o errtrace
  trap up_exit EXIT
  trap 'FAILED_CMD=$BASH_COMMAND' ERR
  trap 'exit 143' TERM INT
  if is_up; then
    rm -f "$LAB/failed"
    log "already up"
    STAGE="restarting dead nodes"
    for i in $(nodes); do alive "$i" || { rm -f "$LAB/ready"; kill_shims "$i"; start_node "$i"; }; done
    STAGE="forming the swarm"; swarm_up
  else
    STAGE="tearing down leftovers"; cmd_down
    STAGE="namespaces"; write_node_start; net_up
    STAGE="starting the dockerds"
    for i in $(nodes); do launch_node "$i"; done
    for i in $(nodes); do wait_node "$i" "$t0"; done
    STAGE="forming the swarm"; swarm_up
  fi
  STAGE="zone labels"; label_nodes
  STAGE="lab images"; lab_images
  STAGE="done"
  touch "$LAB/ready"
  log "lab up in $(since "$t0"); manager: DOCKER_HOST=unix://$(sock 1); nodes: unix://$LAB/{hostname}/docker.sock"
}

cmd_down() {
  local t0 i n ns; t0=$(now)
  [ -f "$LAB/nodes" ] && n=$(wc -l < "$LAB/nodes") && [ "$n" -gt "$N" ] && N=$n
  for i in $(nodes); do # leave first: it removes the tasks' containers, so the stop is quick
    alive "$i" && { d "$i" swarm leave --force >/dev/null 2>&1 || true; }
  done
  stop_nodes
  kill_shims
  # the cgroup parents (depth first), e.g. /sys/fs/cgroup/cpu/dokksw-n1/<container>
  find /sys/fs/cgroup -maxdepth 3 -depth -type d -name "$P-n[0-9]*" -print0 2>/dev/null \
    | while IFS= read -r -d '' ns; do find "$ns" -depth -type d -exec rmdir {} \; 2>/dev/null || true; done
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^$P-(sw|n[0-9]+)$" || true); do
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$LAB"
  log "down in $(since "$t0")"
}

cmd_status() {
  local i
  for i in $(nodes); do
    printf '%s  %-40s  %s\n' "$(host_of "$i")" "unix://$(sock "$i")" "$(alive "$i" && echo alive || echo DOWN)"
  done
  d 1 node ls --format 'table {{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}'
  d 1 service ls
}

wait_for() { # wait_for SECONDS CMD...: poll every 0.2 s
  local lim=$1; shift; local t0; t0=$(now)
  while ! "$@"; do [ $(( ($(now) - t0) / 1000000000 )) -ge "$lim" ] && return 1; sleep 0.2; done
}
running_off() { # running_off SERVICE COUNT [NODE]: COUNT tasks running, none on NODE
  [ "$(d 1 service ps "$1" --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' \
      | grep -v "${3:-^$}" | grep -c Running)" = "$2" ]
}
update_state() { d 1 service inspect "$1" --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}'; }
state_is() { [ "$(update_state "$1")" = "$2" ]; }
not_state() { [ "$(update_state "$1")" != "$2" ]; }
node_state_is() { [ "$(d 1 node inspect "$1" --format '{{.Status.State}}')" = "$2" ]; }

cmd_smoke() {
  cmd_up; trap - EXIT ERR
  local t0 victim=$N
  d 1 service rm web >/dev/null 2>&1 || true
  t0=$(now)
  d 1 service create -d --name web --replicas 3 --no-resolve-image \
    --reserve-cpu 0.25 --reserve-memory 64M --limit-cpu 0.5 --limit-memory 128M \
    --update-parallelism 1 --update-delay 2s --update-monitor 3s --update-failure-action rollback \
    --rollback-monitor 3s "$IMG:v1" >/dev/null
  wait_for 60 running_off web 3; echo "create 3 replicas: 3/3 running in $(since "$t0")"
  echo "spread: $(d 1 service ps web --filter desired-state=running --format '{{.Node}}' | sort | uniq -c | xargs)"
  t0=$(now); d 1 service update -d --no-resolve-image --image "$IMG:v2" web >/dev/null
  wait_for 120 state_is web completed; echo "rolling update v1->v2: completed in $(since "$t0")"
  t0=$(now); d 1 service rollback -d web >/dev/null
  wait_for 120 state_is web rollback_completed; echo "rollback v2->v1: rollback_completed in $(since "$t0")"
  t0=$(now); d 1 service update -d --no-resolve-image --image "$IMG:v3-bad" web >/dev/null
  wait_for 30 not_state web rollback_completed # still the last rollback's until the update starts
  wait_for 120 state_is web rollback_completed
  echo "bad update v3 (failure-action rollback): rollback_completed in $(since "$t0")," \
    "image now $(d 1 service inspect web --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}')"
  t0=$(now); d 1 node update --availability drain "$(host_of 1)" >/dev/null
  wait_for 60 running_off web 3 "$(host_of 1)"; echo "drain $(host_of 1): 3 running elsewhere in $(since "$t0")"
  d 1 node update --availability active "$(host_of 1)" >/dev/null
  t0=$(now); kill -9 "$(cat "$(ndir "$victim")/docker.pid")"
  wait_for 120 node_state_is "$(host_of "$victim")" down
  echo "kill -9 $(host_of "$victim") dockerd: node down after $(since "$t0")"
  wait_for 120 running_off web 3 "$(host_of "$victim")"; echo "  tasks rescheduled after $(since "$t0")"
  kill_shims "$victim"; t0=$(now); start_node "$victim" 2>/dev/null
  wait_for 60 node_state_is "$(host_of "$victim")" ready; echo "  restarted: ready again after $(since "$t0")"
  d 1 service rm web >/dev/null
}

lock() { # one up/down/start of this lab at a time (test threads may all ask for it); the lock
  # file is outside $LAB, which down removes; fd 9 is closed for the dockerds (launch_node)
  local f=/run/lock; [ -d "$f" ] && [ -w "$f" ] || f=${TMPDIR:-/tmp}
  exec 9>"$f/dokk-swarm-lab.$P.lock"
  flock 9
}

case "${1:-}" in
  up) lock; cmd_up ;;
  down) lock; cmd_down ;;
  status) cmd_status ;;
  env) echo "export DOCKER_HOST=unix://$(sock "${2:-1}")" ;;
  kill) kill -9 "$(cat "$(ndir "${2:?node}")/docker.pid")" ;;
  start) lock; kill_shims "${2:?node}"; start_node "$2" ;;
  load) cmd_load "${2:?image}" ;;
  smoke) lock; cmd_smoke ;;
  *) sed -n '2,30p' "$0"; exit 2 ;;
esac
