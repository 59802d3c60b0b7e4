#!/usr/bin/env bash
# Starts and stops the Docker engine the container tests (test/container)
# run on, as root:
#
#   ./scripts/docker-engine.sh start   # start dockerd unless an engine answers
#   ./scripts/docker-engine.sh stop    # stop it again, if start started it
#
# Debian's docker.io does not start its service on install where a
# policy-rc.d forbids it (containers, build machines), and a machine
# without systemd has no service to start. `start` then runs dockerd
# itself; dockerd starts its own containerd when no system containerd
# answers, and stops it when it stops. The engine is started with no
# bridge and no iptables rules: the tests use host and no networking only,
# so the machine's network is left as it was. `stop` stops only an engine
# `start` started, and removes the directories that engine created.
#
# The client is the engine's own (/usr/bin/docker from docker.io, API 1.41)
# unless SIGGUARD_DOCKER names another; a newer client on PATH negotiates
# the API down to 1.41 too, but builds with the legacy builder only with a
# deprecation notice.
set -euo pipefail

state=/run/sigguard-docker-engine
# What dockerd creates on its first start, beside the socket and pid file
# it removes when it stops.
created_by_dockerd=(/var/lib/docker /run/docker /etc/docker)

client() {
  if [ -n "${SIGGUARD_DOCKER:-}" ]; then
    echo "$SIGGUARD_DOCKER"
  elif [ -x /usr/bin/docker ]; then
    echo /usr/bin/docker
  else
    command -v docker
  fi
}

answers() { "$(client)" info >/dev/null 2>&1; }

start() {
  if answers; then
    echo "engine: one is running already; the tests use it and stop leaves it running"
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "engine: dockerd is not installed (scripts/deps.sh installs docker.io)" >&2
    exit 1
  fi
  if [ -e "$state/pid" ]; then
    echo "engine: $state/pid is left from an earlier start that was never stopped; run $0 stop first" >&2
    exit 1
  fi
  mkdir -p "$state"
  : >"$state/created"
  for path in "${created_by_dockerd[@]}"; do
    [ -e "$path" ] || echo "$path" >>"$state/created"
  done
  setsid dockerd --bridge=none --iptables=false --ip6tables=false >"$state/dockerd.log" 2>&1 </dev/null &
  echo $! >"$state/pid"
  for _ in $(seq 150); do
    if answers; then
      echo "engine: dockerd $(cat "$state/pid") answers ($("$(client)" version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}, client {{.Client.Version}}'))"
      return 0
    fi
    if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
      break
    fi
    sleep 0.2
  done
  echo "engine: dockerd did not answer within 30 s; its log:" >&2
  tail -n 30 "$state/dockerd.log" >&2
  stop
  exit 1
}

stop() {
  if [ ! -e "$state/pid" ]; then
    echo "engine: not started by $0; left as it is"
    return 0
  fi
  local pid
  pid=$(cat "$state/pid")
  # dockerd stops its containers and its containerd on SIGTERM.
  if kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "engine: dockerd $pid did not stop within 30 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # dockerd leaves its default network namespace mounted when it stops.
  if grep -q ' /run/docker/netns/default ' /proc/self/mountinfo; then
    umount /run/docker/netns/default || true
  fi
  while read -r path; do
    [ -n "$path" ] || continue
    # Layers still mounted (a killed dockerd) would make rm fail halfway.
    if grep -q " $path/" /proc/self/mountinfo; then
      echo "engine: mounts under $path remain; not removing it" >&2
      continue
    fi
    rm -rf "$path"
  done <"$state/created"
  rm -rf "$state"
  echo "engine: dockerd $pid stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
