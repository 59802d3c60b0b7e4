#!/usr/bin/env bash
# sigguard beside bpftrace on the same jobs, on this machine: the cost of a
# failing ptrace call no rule matches, the ptrace program's own run time,
# open+close of /dev/null with the memory-access hooks, and an audit flood
# (events delivered and lost, the tool's CPU per event, its RSS after).
# Each job runs with nothing attached, with sigguard and with bpftrace,
# interleaved over the repetitions; it prints a markdown table of medians
# on stdout (progress on stderr) for docs/benchmarks.md.
#
#   ./scripts/compare-bpftrace.sh                    # 5 repetitions, a flood of 400000 calls
#   ./scripts/compare-bpftrace.sh -reps 9 -flood 1000000
#
# As root, from a clone (builds sigguard with go; installs bpftrace and
# bpftool with apt-get when missing). Everything it starts runs in a cgroup
# of its own: the tools in tools/, the workload in work/, and empty/ holds
# nothing. Every program is scoped to one of them and only reports:
# sigguard runs with --cgroup or a cgroup-scoped policy, in audit mode;
# bpftrace prints (without --unsafe it cannot signal). At exit it stops what
# it started, removes its cgroups and files and puts kernel.bpf_stats_enabled
# back as it found it.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

reps=5
flood=400000
usage() { echo "usage: $0 [-reps N] [-flood CALLS]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    -reps) [ $# -ge 2 ] || usage; reps=$2; shift 2 ;;
    -flood) [ $# -ge 2 ] || usage; flood=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ $reps =~ ^[1-9][0-9]*$ && $flood =~ ^[1-9][0-9]*$ ]] || usage
flood=$((flood / 2 * 2)) # two processes, half each

log() { echo "compare: $*" >&2; }
die() { log "$*"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root"
command -v go >/dev/null || die "go is needed to build sigguard (see the README)"
missing=()
command -v bpftrace >/dev/null || missing+=(bpftrace)
command -v bpftool >/dev/null || missing+=(bpftool)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "install ${missing[*]}"
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[ -n "$cg2" ] || die "no cgroup v2 hierarchy is mounted"
stats_file=/proc/sys/kernel/bpf_stats_enabled
[ -w "$stats_file" ] || die "no $stats_file (Linux 5.1+)"

tmp=$(mktemp -d /tmp/sigguard-compare.XXXXXX)
cg=
stats_prev=
tool=
kill_cgroup() { # every process in it is one this script started
  for _ in $(seq 100); do
    [ -n "$(cat "$1/cgroup.procs" 2>/dev/null)" ] || return 0
    if [ -e "$1/cgroup.kill" ]; then
      echo 1 >"$1/cgroup.kill"
    else
      xargs -r kill -KILL <"$1/cgroup.procs"
    fi
    sleep 0.05
  done
  log "processes left in $1"
}
remove_cgroup() { # once its processes are reaped
  for _ in $(seq 100); do
    rmdir "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  log "could not remove $1"
}
cleanup() {
  set +e
  [ -z "$stats_prev" ] || echo "$stats_prev" >"$stats_file"
  [ -z "$tool" ] || stop_tool
  if [ -n "$cg" ]; then
    for d in tools work empty; do
      [ ! -d "$cg/$d" ] || kill_cgroup "$cg/$d"
    done
    wait
    for d in tools work empty; do
      [ ! -d "$cg/$d" ] || remove_cgroup "$cg/$d"
    done
    remove_cgroup "$cg"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cg=$(mktemp -d "$cg2/sigguard-compare-XXXXXX")
mkdir "$cg/tools" "$cg/work" "$cg/empty"

log "building sigguard"
sg=$tmp/sigguard
go build -o "$sg" ./cmd/sigguard
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit with local changes"
# Programs loaded by others cost the baseline too: named in the output.
others=$(bpftool prog show 2>/dev/null | sed -n 's/^[0-9]*: .* name \([^ ]*\) .*/\1/p' | sort | uniq -c |
  awk '{ printf "%s%s%s", (NR > 1 ? ", " : ""), $2, ($1 > 1 ? " ×" $1 : "") }')

# run_in CGROUP CMD...: CMD run in CGROUP (it moves itself there, then
# execs); spawn_in, the same in the background, its pid in $! as CMD's.
run_in() { sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$@"; }
spawn_in() { sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$@" & }
offender() { run_in "$cg/work" "$sg" __bench-offender "$@"; }

# The programs. bpftrace's do what sigguard's do on these paths, in its
# language: a cgroup test (exact, where sigguard's takes a subtree); on
# openat's exit, the new file's superblock and name (is it /proc/<pid>/mem?);
# in the flood, a line per call.
cat >"$tmp/ptrace.bt" <<EOF
tracepoint:syscalls:sys_enter_ptrace /cgroup == cgroupid("$cg/empty")/ { printf("ptrace %d\n", pid); }
EOF
cat >"$tmp/open.bt" <<EOF
tracepoint:syscalls:sys_exit_openat /cgroup == cgroupid("$cg/work") && args->ret >= 0/
{
  \$f = *(curtask->files->fdt->fd + args->ret);
  if (\$f->f_inode->i_sb->s_magic == 0x9fa0 && str(\$f->f_path.dentry->d_name.name, 5) == "mem") {
    printf("mem %d %s\n", pid, comm);
  }
}
EOF
cat >"$tmp/flood.bt" <<EOF
tracepoint:syscalls:sys_enter_ptrace /cgroup == cgroupid("$cg/work")/
{
  printf("ev %llu %d %d %d %s %llu %d %d\n", nsecs, pid, tid, uid, comm, cgroup, args->request, args->pid);
}
EOF
cat >"$tmp/open.yaml" <<EOF
rules:
  - name: compare
    syscalls: [memory-access]
    match: { cgroup: [$cg/work] }
    action: { audit: true }
EOF
# bpftrace -c starts its command once every probe is attached: this one
# says so in a file, with its pid, and waits to be ended.
cat >"$tmp/hold" <<'EOF'
echo $$ >"$1.new" && mv "$1.new" "$1" && exec sleep 3600
EOF

# start_tool TOOL JOB: sigguard or bpftrace set up for JOB (ptrace, open,
# flood), in tools/, its events in $tmp/events; returns once it is live.
holder=
start_tool() {
  local name=$1 ready=$tmp/ready
  rm -f "$ready" "$tmp/events"
  tool=$1 holder=
  case $1/$2 in
    none/*) tool=''; return 0 ;;
    sigguard/ptrace) set -- --cgroup "$cg/empty" --audit ;;
    sigguard/open) set -- --policy "$tmp/open.yaml" ;;
    sigguard/flood) set -- --cgroup "$cg/work" --audit ;;
    bpftrace/*) set -- -o "$tmp/events" -c "/bin/sh $tmp/hold $ready" "$tmp/$2.bt" ;;
  esac
  if [ "$tool" = sigguard ]; then
    spawn_in "$cg/tools" "$sg" "$@" --output json --ready-file "$ready" >"$tmp/events" 2>"$tmp/tool.err"
  else
    spawn_in "$cg/tools" bpftrace "$@" >/dev/null 2>"$tmp/tool.err"
  fi
  tool_pid=$!
  for _ in $(seq 600); do
    [ ! -s "$ready" ] || break
    kill -0 "$tool_pid" 2>/dev/null || { cat "$tmp/tool.err" >&2; tool=''; die "$name did not start"; }
    sleep 0.05
  done
  [ -s "$ready" ] || die "$name not live after 30 s"
  [ "$tool" = sigguard ] || holder=$(cat "$ready")
}
stop_tool() {
  if [ "$tool" = sigguard ]; then
    kill -TERM "$tool_pid"
  else
    kill -INT "$tool_pid"
  fi
  wait "$tool_pid" || true
  [ -z "$holder" ] || { kill "$holder" 2>/dev/null || true; }
  tool='' holder=''
}
# The tool's processes: everything in tools/ but bpftrace's holder.
tool_pids() { grep -vx "${holder:-none}" "$cg/tools/cgroup.procs" || true; }
cpu_ticks() { # utime + stime of the tool's processes
  local p t=0
  for p in $(tool_pids); do
    t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
  done
  echo $t
}
rss_kib() {
  local p t=0
  for p in $(tool_pids); do
    t=$((t + $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status")))
  done
  echo $t
}
prog_stats() { # "id run_time_ns run_cnt" of every BPF program the tool holds
  local p fd
  for p in $(tool_pids); do
    for fd in /proc/"$p"/fd/*; do
      [ "$(readlink "$fd" 2>/dev/null)" = anon_inode:bpf-prog ] || continue
      awk '/^prog_id:/ { i = $2 } /^run_time_ns:/ { t = $2 } /^run_cnt:/ { c = $2 } END { print i, t, c }' \
        "/proc/$p/fdinfo/${fd##*/}"
    done
  done | sort -u
}
median_of_rounds() { tr -d '[]' | tr ',' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
sample() { echo "$1 $2 $3" >>"$tmp/samples"; }
hz=$(getconf CLK_TCK)

# ptrace: job 1 (ns per failing call) and job 2 (the ptrace program's ns
# per run, from the kernel's statistics, enabled only for that window).
job_ptrace() {
  local t before after best
  start_tool "$1" ptrace
  t=$(offender time ptrace 3 200000 | median_of_rounds)
  sample ptrace "$1" "$t"
  if [ -n "$tool" ]; then
    before=$(prog_stats)
    stats_prev=$(cat "$stats_file")
    echo 1 >"$stats_file"
    offender time ptrace 1 200000 >/dev/null
    echo "$stats_prev" >"$stats_file"
    stats_prev=
    after=$(prog_stats)
    # The program that ran most in the window is the one on ptrace.
    best=$(join <(echo "$before") <(echo "$after") |
      awk '{ dc = $5 - $3; if (dc > bc) { bc = dc; id = $1; dt = $4 - $2 } } END { if (bc) printf "%s %.1f\n", id, dt / bc }')
    [ -n "$best" ] || die "$1: no program ran on ptrace"
    sample prog "$1" "${best#* }"
    bpftool prog show id "${best% *}" | sed -n 's/.* name \([^ ]*\) .*/\1/p' >"$tmp/prog-$1"
  fi
  [ -z "$tool" ] || stop_tool
}

# job 3: open+close of /dev/null, ns per pair.
job_open() {
  start_tool "$1" open
  sample open "$1" "$(offender time open 3 100000 | median_of_rounds)"
  [ -z "$tool" ] || stop_tool
}

# jobs 4-6: two processes flat out on ptrace, flood calls in all.
job_flood() {
  local c0 c1 t0 t1 prev now still delivered lost p1 p2 kib main n
  start_tool "$1" flood
  c0=$(cpu_ticks)
  t0=$(date +%s%N)
  spawn_in "$cg/work" "$sg" __bench-offender paced 0 $((flood / 2))
  p1=$!
  spawn_in "$cg/work" "$sg" __bench-offender paced 0 $((flood / 2))
  p2=$!
  wait "$p1" "$p2"
  t1=$(date +%s%N)
  sample rate "$1" "$(awk -v n="$flood" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e6) }')"
  [ -n "$tool" ] || return 0
  # Drained when the tool's CPU time and its output stand still for 0.6 s
  # (bpftrace drops what it has not read when it is stopped).
  prev=- still=0
  for _ in $(seq 100); do
    c1=$(cpu_ticks)
    now="$c1 $(stat -c %s "$tmp/events")"
    if [ "$now" = "$prev" ]; then still=$((still + 1)); else still=0; fi
    [ $still -lt 2 ] || break
    prev=$now
    sleep 0.3
  done
  kib=$(rss_kib)
  main=$(awk '/^VmRSS:/ { print $2 }' "/proc/$tool_pid/status")
  n=$(tool_pids | wc -l)
  stop_tool
  if [ "$1" = sigguard ]; then
    delivered=$(grep -c '"type": *"intervention"' "$tmp/events" || true)
    lost=$(grep -o '"lost_total": *[0-9]*' "$tmp/events" | tr -dc '0-9\n' | sort -n | tail -1)
  else
    delivered=$(grep -c '^ev ' "$tmp/events" || true)
    lost=$(awk '/^Lost [0-9]+ events/ { s += $2 } END { print s + 0 }' "$tmp/events")
  fi
  lost=${lost:-0}
  sample delivered "$1" "$delivered"
  sample lost "$1" "$lost"
  sample unaccounted "$1" $((flood - delivered - lost))
  sample cpu "$1" "$(awk -v t=$((c1 - c0)) -v hz="$hz" -v n="$delivered" 'BEGIN { printf "%.3f", n ? t / hz * 1e6 / n : 0 }')"
  sample rss "$1" "$(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }')"
  sample rsschildren "$1" "$(awk -v k=$((kib - main)) 'BEGIN { printf "%.1f", k / 1024 }')"
  echo "$n" >"$tmp/procs-$1"
}

began=$(date +%s)
configs=(none sigguard bpftrace)
for r in $(seq "$reps"); do
  # A different order each repetition, so that drift spreads evenly.
  order=("${configs[@]:$(((r - 1) % 3))}" "${configs[@]:0:$(((r - 1) % 3))}")
  for job in ptrace open flood; do
    for c in "${order[@]}"; do
      log "repetition $r/$reps: $job, $c"
      "job_$job" "$c"
    done
  done
done
took=$(($(date +%s) - began))
log "samples (job, set-up, value per repetition):"
awk '{ k = $1 " " $2; v[k] = v[k] " " $3 } END { for (k in v) print "  " k ":" v[k] }' "$tmp/samples" | sort >&2

# cell JOB CONFIG: the median over the repetitions (and min-max).
cell() {
  awk -v j="$1" -v c="$2" '$1 == j && $2 == c { print $3 }' "$tmp/samples" | sort -g |
    awk '{ v[NR] = $1 } END {
      if (!NR) { print "–"; exit }
      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      f = m == int(m) && v[1] == int(v[1]) ? "%d" : "%.2f"
      if (m >= 100) f = "%.0f"; else if (m >= 10) f = "%.1f"
      if (v[1] == v[NR]) printf f "\n", m; else printf f " (" f "–" f ")\n", m, v[1], v[NR]
    }'
}
row() { printf '| %s | %s | %s | %s |\n' "$1" "$(cell "$2" none)" "$(cell "$2" sigguard)" "$(cell "$2" bpftrace)"; }
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

cat <<EOF
sigguard (commit $commit) and $(bpftrace --version 2>/dev/null | head -1), $(date -u +%Y-%m-%dT%H:%MZ),
Linux $(uname -r), ${cpu:-unknown CPU} ($(nproc) CPUs); medians of $reps repetitions, the three set-ups
interleaved (min–max in parentheses); the run took ${took} s. BPF programs loaded by others at the start:
${others:-none}.

| job | nothing attached | sigguard | bpftrace |
|---|---|---|---|
EOF
row "1. failing ptrace (PEEKDATA of no pid), caller not matched, ns/call" ptrace
printf '| 2. ptrace program run time, ns/run (%s, %s) | – | %s | %s |\n' \
  "\`$(cat "$tmp/prog-sigguard")\`" "\`$(cat "$tmp/prog-bpftrace")\`" "$(cell prog sigguard)" "$(cell prog bpftrace)"
row "3. open+close of /dev/null, ns/pair (sigguard: \`memory-access\`)" open
row "4. audit flood, 2 processes flat out: thousand calls/s made" rate
row "4. events delivered, of $flood" delivered
row "4. events counted as lost" lost
row "4. events neither delivered nor counted" unaccounted
row "5. tool CPU per delivered event, µs" cpu
printf '| 6. tool RSS after the flood, MiB (sigguard: %s processes, bpftrace: %s) | – | %s | %s |\n' \
  "$(cat "$tmp/procs-sigguard")" "$(cat "$tmp/procs-bpftrace")" "$(cell rss sigguard)" "$(cell rss bpftrace)"
row "6. of which processes the tool started (sigguard's watchdog)" rsschildren
