#!/usr/bin/env bash
# tests/cluster/run.sh - pve-balancerd on a REAL 3-node corosync cluster (make check-cluster).
#
#   tests/cluster/run.sh                  # as root, or unprivileged through a user namespace
#   KEEP_LOGS=1 tests/cluster/run.sh      # keep the work dir (corosync, daemon and cycle logs)
#   BUILD=build-asan tests/cluster/run.sh # another build of the daemon
#
# Three corosync 3 instances (knet, crypto, votequorum, token 1000 ms) run in three network
# namespaces joined by a bridge in a private "switch" namespace, as in
# ../shared/reference/corosync-3node.sh: nothing is connected to the host's network, and the
# whole lab is PID 1 of its own PID namespace, so even a SIGKILL of this script leaves nothing
# behind. Each node runs pve-balancerd with the test cycle command tests/cluster/record-cycle,
# fake PSI files (--psi-dir) and its own status directory; balancer.cfg and the cluster summary
# are one shared file each (the part of pmxcfs the daemon uses).
#
# Each scenario asserts on the recorded cycle runs (who ran, when, why, SIGTERM) and on the
# daemons' status files. Output: TAP-like "ok"/"not ok" lines, timings as "#" comments, and a
# final "N passed, N failed" line; exit 0 iff everything passed.

set -u

TOKEN="${TOKEN:-1000}"
KEEP_LOGS="${KEEP_LOGS:-0}"
TOTAL_LIMIT="${TOTAL_LIMIT:-240}" # hard cap for the whole lab, seconds
SUBNET="10.98.0"                  # used ONLY inside the lab's own namespaces

die() { echo "check-cluster: $*" >&2; exit 2; }

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

###########################################################################
# Outer part: prerequisites, then the lab inside unshare + timeout.
###########################################################################
if [ "${1:-}" != "--inner" ]; then
    PATH="$PATH:/usr/sbin:/sbin"
    for b in corosync corosync-keygen corosync-cmapctl ip unshare timeout perl awk; do
        command -v "$b" >/dev/null 2>&1 || die "missing '$b' (make deps installs corosync and iproute2)"
    done
    BUILD="${BUILD:-build}"
    case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
    DAEMON="$BUILD/daemon/pve-balancerd"
    [ -x "$DAEMON" ] || die "no $DAEMON (run make native)"

    WORK="$(mktemp -d -t pvebal-cluster.XXXXXX)" || die "mktemp failed"
    chmod 755 "$WORK"
    USERNS=()
    if [ "$(id -u)" -ne 0 ]; then
        USERNS=(--user --map-root-user)
        unshare --user --map-root-user --net --mount true 2>/dev/null || {
            rm -rf "$WORK"
            die "not root and unprivileged user namespaces are unavailable; run as root"
        }
    fi
    START=$(date +%s)
    # --kill-child: if unshare dies (timeout's KILL), the kernel kills the whole lab.
    timeout -k 5 "$TOTAL_LIMIT" \
        unshare "${USERNS[@]}" --net --mount --pid --fork --mount-proc --kill-child \
        bash "$0" --inner "$WORK" "$DAEMON" &
    TPID=$!
    children_of() { # pids whose parent is $1 (no procps needed)
        awk -v p="$1" 'FNR == 1 { f = FILENAME; sub(/^.*\) /, "");
            if ($2 == p) { sub(/^\/proc\//, "", f); sub(/\/stat$/, "", f); print f } }' \
            /proc/[0-9]*/stat 2>/dev/null
    }
    stop_lab() {
        local u c i
        u=$(children_of "$TPID"); [ -n "$u" ] && c=$(children_of "$u")
        [ -n "${c:-}" ] && kill -TERM $c 2>/dev/null
        for i in $(seq 50); do kill -0 "$TPID" 2>/dev/null || return; sleep 0.1; done
        [ -n "$u" ] && kill -KILL "$u" 2>/dev/null
    }
    trap 'echo "check-cluster: interrupted, tearing down" >&2; stop_lab' INT TERM
    rc=0; wait "$TPID" || rc=$?
    while kill -0 "$TPID" 2>/dev/null; do rc=0; wait "$TPID" || rc=$?; done
    trap - INT TERM
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        echo "check-cluster: lab killed after ${TOTAL_LIMIT}s (timeout)"
        echo "0 passed, 1 failed"
    fi
    echo "# check-cluster took $(( $(date +%s) - START )) s"
    if [ "$KEEP_LOGS" = 1 ] || [ $rc -ne 0 ]; then
        echo "# logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit $rc
fi

###########################################################################
# Inner part: PID 1 of a fresh PID/mount/net namespace (root inside it).
###########################################################################
WORK="$2"
DAEMON="$3"
RUNS="$WORK/runs.log"
HOLD="$WORK/hold"
CFG="$WORK/balancer.cfg"
PASS=0; FAIL=0
declare -A CS_PID BD_PID
NETNS_MADE=()

mount --make-rprivate / 2>/dev/null
mount -t tmpfs -o mode=755 lab-run /run || { echo "cannot mount /run"; exit 2; }
mount -t tmpfs -o mode=1777 lab-shm /dev/shm || { echo "cannot mount /dev/shm"; exit 2; }

now() { date +%s.%N; }
ok()    { PASS=$((PASS + 1)); echo "ok $((PASS + FAIL)) - $*"; }
notok() { FAIL=$((FAIL + 1)); echo "not ok $((PASS + FAIL)) - $*"; }
check() { local msg="$1"; shift; if "$@"; then ok "$msg"; else notok "$msg"; fi; }

alive() { [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
# Signal only what we started, after checking the PID is still that process.
stop_pid() {
    local pid="$1" sig="$2" want="$3"
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 0
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$want" || return 0
    kill "-$sig" "$pid" 2>/dev/null
}
cleanup() {
    trap - EXIT INT TERM
    local n pid deadline
    rm -f "$HOLD"
    for n in "${!BD_PID[@]}"; do stop_pid "${BD_PID[$n]}" TERM "--node-name n$n"; done
    for n in "${!CS_PID[@]}"; do stop_pid "${CS_PID[$n]}" TERM "$WORK/n$n/corosync.conf"; done
    deadline=$(( $(date +%s) + 4 ))
    for pid in "${BD_PID[@]}" "${CS_PID[@]}"; do
        while alive "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
    done
    for n in "${!BD_PID[@]}"; do stop_pid "${BD_PID[$n]}" KILL "--node-name n$n"; done
    for n in "${!CS_PID[@]}"; do stop_pid "${CS_PID[$n]}" KILL "$WORK/n$n/corosync.conf"; done
    wait 2>/dev/null
    for n in "${NETNS_MADE[@]}"; do ip netns del "$n" 2>/dev/null; done
    ip link del br0 2>/dev/null
    echo "# teardown done; namespaces left: $(ip netns list | wc -l)"
}
trap cleanup EXIT
trap 'exit 3' INT TERM

# ---- network: this namespace is the switch ---------------------------------------------
ip link set lo up
ip link add br0 type bridge || exit 2
ip link set br0 up
for n in 1 2 3; do
    ip netns add "n$n" || exit 2
    NETNS_MADE+=("n$n")
    ip link add "h$n" type veth peer name eth0 netns "n$n" || exit 2
    ip link set "h$n" master br0 up
    ip -n "n$n" link set lo up
    ip -n "n$n" addr add "$SUBNET.$n/24" dev eth0
    ip -n "n$n" link set eth0 up
done

# ---- corosync -----------------------------------------------------------------------------
corosync-keygen -k "$WORK/authkey" >/dev/null 2>&1 || { echo "corosync-keygen failed"; exit 2; }
for n in 1 2 3; do
    mkdir -p "$WORK/n$n/run" "$WORK/n$n/state" "$WORK/n$n/status" "$WORK/n$n/psi"
    cat > "$WORK/n$n/corosync.conf" <<EOF
totem {
    version: 2
    cluster_name: pvebaltest
    transport: knet
    crypto_cipher: aes256
    crypto_hash: sha256
    keyfile: $WORK/authkey
    token: $TOKEN
    interface {
        linknumber: 0
    }
}
nodelist {
    node {
        name: n1
        nodeid: 1
        ring0_addr: $SUBNET.1
    }
    node {
        name: n2
        nodeid: 2
        ring0_addr: $SUBNET.2
    }
    node {
        name: n3
        nodeid: 3
        ring0_addr: $SUBNET.3
    }
}
quorum {
    provider: corosync_votequorum
}
logging {
    to_stderr: no
    to_logfile: yes
    logfile: $WORK/n$n/corosync.log
    to_syslog: no
    timestamp: hires
}
system {
    state_dir: $WORK/n$n/state
}
EOF
done

start_corosync() {
    local n="$1"
    ip netns exec "n$n" sh -c "mount --bind '$WORK/n$n/run' /run && exec corosync -f -c '$WORK/n$n/corosync.conf'" \
        >> "$WORK/n$n/corosync.out" 2>&1 &
    CS_PID[$n]=$!
    disown "$!"
}
kill_corosync() { stop_pid "${CS_PID[$1]}" KILL "$WORK/n$1/corosync.conf"; }
isolate() { ip link set "h$1" down; } # pull the cable on the switch side
heal()    { ip link set "h$1" up; }

# ---- pve-balancerd ------------------------------------------------------------------------
set_psi() { # node cpu-avg10
    local n="$1" v="$2" r
    for r in cpu memory io; do
        local a=0.00; [ "$r" = cpu ] && a="$v"
        printf 'some avg10=%s avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n' "$a" \
            > "$WORK/n$n/psi/$r.tmp"
        mv "$WORK/n$n/psi/$r.tmp" "$WORK/n$n/psi/$r"
    done
}
start_daemon() {
    local n="$1"
    ip netns exec "n$n" env PVEBAL_TEST_RUNS="$RUNS" PVEBAL_TEST_HOLD="$HOLD" \
        "$DAEMON" --foreground --node-name "n$n" --config "$CFG" \
        --status-dir "$WORK/n$n/status" --cluster-status "$WORK/cluster/daemon.json" \
        --psi-dir "$WORK/n$n/psi" --cycle-command "$HERE/record-cycle" \
        >> "$WORK/n$n/daemon.log" 2>&1 &
    BD_PID[$n]=$!
    disown "$!"
}
kill_daemon() { stop_pid "${BD_PID[$1]}" KILL "--node-name n$1"; }
signal_daemon() { stop_pid "${BD_PID[$1]}" "$2" "--node-name n$1"; }
poke_pressure() { set_psi "$1" "$2"; signal_daemon "$1" USR1; } # SIGUSR1: read PSI now
reload_all() { local n; for n in 1 2 3; do signal_daemon "$n" HUP; done; } # SIGHUP: read config

# status.json field of node n ("role", "active node", "corosync quorate", ...); "stopped" when
# the daemon is not running (a killed daemon leaves its last status behind).
st() {
    local n="$1"; shift
    alive "${BD_PID[$n]:-}" || { echo stopped; return; }
    perl -MJSON::PP -e '
        my $f = shift; open(my $h, "<", $f) or do { print "none"; exit };
        local $/; my $j = eval { decode_json(<$h>) } or do { print "none"; exit };
        my $v = $j; for my $k (@ARGV) { $v = ref($v) eq "HASH" ? $v->{$k} : undef }
        if (!defined $v) { print "null" }
        elsif (JSON::PP::is_bool($v)) { print $v ? "true" : "false" }
        elsif (ref $v eq "ARRAY") { print join(",", map { ref $_ eq "HASH" ? $_->{nodeid} : $_ } @$v) }
        else { print $v }' "$WORK/n$n/status/status.json" "$@"
}
# The top-level role of node n's status, without starting perl (for the takeover timings).
role_is() { grep -q "^  \"role\" : \"$2\",\?\$" "$WORK/n$1/status/status.json" 2>/dev/null; }
# Whether node n's status has all the given "field path=value" facts, e.g. "role=active".
has() {
    local n="$1" fact; shift
    for fact in "$@"; do
        local path="${fact%%=*}" want="${fact#*=}"
        # shellcheck disable=SC2086
        [ "$(st "$n" $path)" = "$want" ] || return 1
    done
}
wait_until() { # max-seconds command...
    local max="$1"; shift
    local deadline=$(( $(date +%s%N) + max * 1000000000 ))
    while [ "$(date +%s%N)" -lt "$deadline" ]; do
        "$@" && return 0
        sleep 0.05
    done
    "$@"
}
# Exactly one running daemon is active, it is node $1, and every other quorate one names it.
one_active() {
    local want="$1" n actives=0
    for n in 1 2 3; do
        [ "$(st "$n" role)" = active ] && actives=$((actives + 1))
    done
    [ "$actives" -eq 1 ] && has "$want" role=active || return 1
    for n in 1 2 3; do
        [ "$n" = "$want" ] && continue
        case "$(st "$n" role)" in
            standby) [ "$(st "$n" active node)" = "n$want" ] || return 1 ;;
        esac
    done
}
mark() { now; } # a point in time for runs_since
runs_since() { awk -v t="$1" '$1 + 0 > t + 0' "$RUNS" 2>/dev/null; }
# Number of recorded events since t matching all the given words ("node=n1", "event=start").
count_runs() {
    local t="$1"; shift
    local lines; lines="$(runs_since "$t")"
    local w; for w in "$@"; do lines="$(printf '%s\n' "$lines" | grep -F -- " $w")"; done
    [ -z "$lines" ] && { echo 0; return; }
    printf '%s\n' "$lines" | wc -l
}
elapsed_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
show_runs() { runs_since "$1" | sed 's/^/#   /'; }

# ---- the lab --------------------------------------------------------------------------------
cat > "$CFG" <<EOF
# pve-balancer test configuration: automatic balancing on, no interval cycle during the test
auto: 1
interval: 10080
psi-debounce: 1
psi-holdoff: 0
cycle-grace: 5
EOF
mkdir -p "$WORK/cluster"
: > "$RUNS"
for n in 1 2 3; do set_psi "$n" 0.00; done
for n in 1 2 3; do start_corosync "$n"; done
for n in 1 2 3; do start_daemon "$n"; done
START_S=$(date +%s)

# ---- 1. formation ---------------------------------------------------------------------------
T=$(mark)
formed() { local n; for n in 1 2 3; do has "$n" "corosync quorate=true" "members=1,2,3" || return 1; done; }
check "three daemons joined the group pve-balancer, all quorate, members 1,2,3" wait_until 20 formed
TOKEN_REAL=$(ip netns exec n2 corosync-cmapctl -g runtime.config.totem.token 2>/dev/null | awk '{print $NF}')
CONSENSUS=$(ip netns exec n2 corosync-cmapctl -g runtime.config.totem.consensus 2>/dev/null | awk '{print $NF}')
TOKEN_REAL=${TOKEN_REAL:-$((TOKEN + 650))}
CONSENSUS=${CONSENSUS:-$((TOKEN_REAL * 12 / 10))}
BOUND_MS=$((TOKEN_REAL + CONSENSUS + 1000))
echo "# corosync token ${TOKEN_REAL} ms, consensus ${CONSENSUS} ms: takeover bound ${BOUND_MS} ms"
check "exactly one active node: n1 (lowest node id); n2 and n3 are standbys naming it" wait_until 5 one_active 1
check "the active node wrote the cluster summary naming itself" \
    wait_until 5 eval '[ -f "$WORK/cluster/daemon.json" ] && grep -q "\"node\" : \"n1\"" "$WORK/cluster/daemon.json"'
check "no cycle ran without a trigger" [ "$(count_runs 0 event=start)" -eq 0 ]

# ---- 2. a configuration change that matters ------------------------------------------------
T=$(mark)
echo "threshold: 0.05" >> "$CFG"
reload_all
check "a configuration change: one cycle, on n1, trigger config" \
    wait_until 10 eval '[ "$(count_runs "$T" event=end node=n1 trigger=config)" -eq 1 ]'
sleep 1
check "... and no other node ran one" [ "$(count_runs "$T" event=start)" -eq 1 ] || show_runs "$T"

# ---- 3. pressure on a standby ----------------------------------------------------------------
T=$(mark)
poke_pressure 3 90.00
check "pressure raised on standby n3: one cycle on the active n1, trigger pressure, detail names n3" \
    wait_until 15 eval '[ "$(count_runs "$T" event=start node=n1 trigger=pressure)" -eq 1 ] &&
                        runs_since "$T" | grep -q "detail=pressure on n3 (cpu 90.0%)"'
poke_pressure 3 0.00
poke_pressure 2 85.00 # and a second standby in the same window after the cycle: one more at most
poke_pressure 2 0.00
sleep 2
check "... exactly one pressure cycle, none on n2 or n3" \
    eval '[ "$(count_runs "$T" event=start)" -eq 1 ] && [ "$(count_runs "$T" event=start node=n1)" -eq 1 ]' ||
    show_runs "$T"

# ---- 4. kill the active daemon ---------------------------------------------------------------
T0=$(now)
kill_daemon 1
wait_until 10 role_is 2 active
T1=$(now)
MS=$(elapsed_ms "$T0" "$T1")
echo "# daemon on n1 killed: n2 active after ${MS} ms"
check "kill -9 of the active daemon: n2 takes over within ${BOUND_MS} ms (took ${MS} ms)" \
    eval '[ "$MS" -le "$BOUND_MS" ] && one_active 2'
T=$(mark)
poke_pressure 3 90.00
check "pressure on n3 now runs one cycle on n2" \
    wait_until 15 eval '[ "$(count_runs "$T" event=start node=n2 trigger=pressure)" -eq 1 ]'
poke_pressure 3 0.00

# ---- 5. leadership lost mid-cycle to a returning lower node ----------------------------------
wait_until 10 eval '[ "$(count_runs "$T" event=end node=n2)" -eq 1 ]'
T=$(mark)
touch "$HOLD"
poke_pressure 3 90.00
check "a long cycle runs on n2" \
    wait_until 15 eval '[ "$(count_runs "$T" event=start node=n2)" -eq 1 ]'
check "n2's status and the cluster summary show it running" \
    wait_until 8 eval 'has 2 "cycle state=running" "cycle trigger=pressure" &&
                       grep -q "\"state\" : \"running\"" "$WORK/cluster/daemon.json"'
poke_pressure 3 0.00
start_daemon 1
check "the daemon on n1 restarts and n1 is the one active node again" wait_until 10 one_active 1
check "n2's running cycle got SIGTERM when n2 lost leadership" \
    wait_until 5 eval '[ "$(count_runs "$T" event=sigterm node=n2)" -eq 1 ]'
rm -f "$HOLD"
check "n2's status records the cycle as cancelled (leadership-lost)" \
    wait_until 5 has 2 "last-cycle result=cancelled" "last-cycle stopped=leadership-lost"
sleep 1
check "... and no node started another cycle meanwhile" [ "$(count_runs "$T" event=start)" -eq 1 ] ||
    show_runs "$T"

# ---- 6. kill the active node's corosync ------------------------------------------------------
T0=$(now)
kill_corosync 1
wait_until 15 role_is 2 active
T1=$(now)
MS=$(elapsed_ms "$T0" "$T1")
echo "# corosync on n1 killed: n2 active after ${MS} ms"
check "kill -9 of n1's corosync: n2 takes over within ${BOUND_MS} ms (took ${MS} ms)" \
    eval '[ "$MS" -le "$BOUND_MS" ] && one_active 2'
check "the daemon on n1 lives on, disconnected" wait_until 5 has 1 role=disconnected "corosync cpg=false"
T=$(mark)
poke_pressure 3 90.00
poke_pressure 1 90.00
check "pressure: one cycle on n2, none on n1" \
    wait_until 15 eval '[ "$(count_runs "$T" event=start node=n2)" -eq 1 ]'
poke_pressure 3 0.00
sleep 1
check "... n1 ran nothing while disconnected" [ "$(count_runs "$T" node=n1)" -eq 0 ]
poke_pressure 1 0.00
start_corosync 1
check "corosync on n1 restarted: the daemon reconnects and n1 is the one active node" \
    wait_until 30 eval 'one_active 1 && has 1 members=1,2,3'

# ---- 7. partition: n1 cut off ---------------------------------------------------------------
wait_until 10 eval 'has 2 members=1,2,3 && has 3 members=1,2,3'
T=$(mark)
T0=$(now)
isolate 1
wait_until 15 role_is 2 active
T1=$(now)
MS=$(elapsed_ms "$T0" "$T1")
echo "# n1 isolated: n2 active after ${MS} ms"
check "n1 cut off: n2 is active within ${BOUND_MS} ms (took ${MS} ms), n3 standby" \
    eval '[ "$MS" -le "$BOUND_MS" ] && has 3 role=standby "active node=n2"'
check "the lone n1 is not quorate and not acting" wait_until 5 has 1 role=no-quorum "corosync quorate=false"
poke_pressure 1 90.00
poke_pressure 3 90.00
echo "max-migrations: 4" >> "$CFG"
reload_all
check "the two-node side acts: cycles run on n2" \
    wait_until 15 eval '[ "$(count_runs "$T" event=end node=n2)" -ge 1 ]'
poke_pressure 3 0.00
sleep 2
check "the lone node never acts (no cycle on n1 despite its pressure and the config change)" \
    [ "$(count_runs "$T" node=n1)" -eq 0 ] || show_runs "$T"
poke_pressure 1 0.00

# ---- 8. heal ---------------------------------------------------------------------------------
heal 1
merged() { local n; for n in 1 2 3; do has "$n" "corosync quorate=true" "members=1,2,3" || return 1; done; }
check "healed: all three quorate again, exactly one active node (n1)" \
    wait_until 20 eval 'merged && one_active 1'
T=$(mark)
sleep 6 # past the pressure hold-off floor after the last cycle
poke_pressure 2 90.00
check "pressure on n2 after the heal: one cycle, on n1" \
    wait_until 15 eval '[ "$(count_runs "$T" event=start node=n1)" -eq 1 ]'
poke_pressure 2 0.00
sleep 1
check "... and only there" [ "$(count_runs "$T" event=start)" -eq 1 ] || show_runs "$T"

# ---- 9. quorum lost mid-cycle -----------------------------------------------------------------
wait_until 10 eval '[ "$(count_runs "$T" event=end node=n1)" -eq 1 ]'
sleep 5
T=$(mark)
touch "$HOLD"
poke_pressure 3 90.00
check "a long cycle runs on n1" wait_until 15 eval '[ "$(count_runs "$T" event=start node=n1)" -eq 1 ]'
poke_pressure 3 0.00
isolate 1
check "n1 cut off mid-cycle: its cycle gets SIGTERM once n1 loses quorum" \
    wait_until 15 eval '[ "$(count_runs "$T" event=sigterm node=n1)" -eq 1 ]'
check "n1's status records the cycle as cancelled (quorum-lost)" \
    wait_until 5 has 1 "last-cycle result=cancelled" "last-cycle stopped=quorum-lost"
rm -f "$HOLD"
heal 1
check "healed again: exactly one active node (n1)" wait_until 20 eval 'merged && one_active 1'

# Resource use of a standby daemon that ran through every scenario (information, no assertion).
if alive "${BD_PID[3]}"; then
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/${BD_PID[3]}/status")
    ticks=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/${BD_PID[3]}/stat")
    echo "# pve-balancerd on n3: RSS ${rss} kB, CPU time $((ticks * 1000 / $(getconf CLK_TCK))) ms in $(( $(date +%s) - ${START_S} )) s"
fi

# ---- 10. clean stop --------------------------------------------------------------------------
for n in 1 2 3; do signal_daemon "$n" TERM; done
stopped() { local n; for n in 1 2 3; do ! alive "${BD_PID[$n]}" || return 1; done; }
stopped_cleanly() {
    local n
    wait_until 10 stopped || return 1
    for n in 1 2 3; do
        tail -n 1 "$WORK/n$n/daemon.log" | grep -q "pve-balancerd stopped" || return 1
        [ ! -e "$WORK/n$n/status/status.json" ] || return 1
    done
}
check "SIGTERM: all three daemons stop, log it and remove their status files" stopped_cleanly
# A sanitizer build (BUILD=build-asan) reports memory errors and leaks in the logs.
check "no sanitizer report in any daemon log" \
    eval '! grep -l -E "AddressSanitizer|LeakSanitizer|runtime error:" "$WORK"/n*/daemon.log'

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
