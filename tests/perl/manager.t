#!/usr/bin/perl
# PVE::Balancer::Manager, the one home of a balancing cycle, on the simulated cluster with the
# real PVE2 environment over the doubles: the rules against thrashing (hold, cooldown with
# back-off, move-back, hourly cap, stable period), windows, backups, notifications, the daemon
# status in GET /cluster/balance, and the cycle's contract with pve-balancerd: SIGTERM
# cancels, no quorum means no action, the deadline, exit codes 0 / 75 / 1. The long runs over
# time and traces are the simulator's (tests/sim).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use PVEBalancerTest::Setup;
use PVEBalancerTest::API;

use File::Temp qw(tempdir);
use IPC::Open3;
use JSON;
use Symbol qw(gensym);
use Test::More;

use PVE::Balancer::APIRegister;
use PVE::Balancer::Backup;
use PVE::Balancer::Config;
use PVE::Balancer::History;
use PVE::Balancer::Manager;
use PVE::Balancer::Manager::Knowledge;
use PVE::Balancer::Manager::Rules;
use PVE::Balancer::Window;

my $root = $PVEBalancerTest::Setup::root;

sub write_cfg {
    my ($env, $text) = @_;
    $env->write_cfs_file('balancer.cfg', $text);
}

sub cycle {
    my ($env, %opts) = @_;
    my $m = PVE::Balancer::Manager->new($env, trigger => 'interval', %opts);
    my $code = $m->cycle();
    return ($code, $m->result());
}

subtest 'rules: cooldown, back-off, move-back, hourly cap, stable period' => sub {
    my $eff = { cooldown => 60, 'cooldown-max' => 300, 'max-migrations-per-hour' => 3,
        interval => 30, 'stable-period' => 0 };
    my $k = PVE::Balancer::Manager::Knowledge::empty();
    my $t = 1_000_000;
    is(PVE::Balancer::Manager::Rules::cooldown_seconds($eff, 1), 3600, 'level 1: cooldown');
    is(PVE::Balancer::Manager::Rules::cooldown_seconds($eff, 3), 14400, 'level 3: 4x');
    is(PVE::Balancer::Manager::Rules::cooldown_seconds($eff, 9), 18000, 'capped at cooldown-max');

    my $g = PVE::Balancer::Manager::Rules::record_move($k, 101, $t, 'a', 'b', 'auto', $eff);
    is($g->{level}, 1, 'first move: level 1');
    is($g->{until}, $t + 3600, 'cooldown 60 min');
    is($g->{'back-until'}, $t + 7200, 'no move back for 120 min');
    is_deeply(PVE::Balancer::Manager::Rules::cooling($k, $t + 10), { 101 => $t + 3600 },
        'in cooldown');
    is_deeply(PVE::Balancer::Manager::Rules::avoid($k, $t + 4000, { 101 => 'b' }),
        { 101 => 'a' }, 'after the cooldown, still never back to a');
    is_deeply(PVE::Balancer::Manager::Rules::avoid($k, $t + 8000, { 101 => 'b' }), {},
        'then free');
    $g = PVE::Balancer::Manager::Rules::record_move($k, 101, $t + 5000, 'b', 'c', 'auto', $eff);
    is($g->{level}, 2, 'moved again within twice its cooldown: level 2');
    is($g->{until} - ($t + 5000), 7200, '... twice the cooldown');
    $g = PVE::Balancer::Manager::Rules::record_move($k, 101, $t + 100_000, 'c', 'a', 'auto',
        $eff);
    is($g->{level}, 1, 'after a quiet time: level 1 again');

    my $others = PVE::Balancer::Manager::Rules::moved_by_others($k, { 101 => 'c' }, {});
    is_deeply($others, [{ vmid => 101, from => 'a', to => 'c', back => 1 }],
        'found back on the node it left: moved back by someone else');
    is_deeply(PVE::Balancer::Manager::Rules::moved_by_others($k, { 101 => 'c' }, { 101 => 1 }),
        [], 'not while it is still moving');

    PVE::Balancer::Manager::Rules::record_failure($k, 102, $t, $eff);
    PVE::Balancer::Manager::Rules::record_failure($k, 102, $t, $eff);
    is($k->{guests}->{102}->{until}, $t + 7200, 'two failures: back-off level 2');

    PVE::Balancer::Manager::Rules::record_started($k, [$t - 4000, $t - 100, $t - 50], $t);
    is(PVE::Balancer::Manager::Rules::migrations_left($k, $t, $eff), 1,
        'hourly cap: 2 of 3 used in the last hour');
    PVE::Balancer::Manager::Rules::record_started($k, [$t], $t);
    is(PVE::Balancer::Manager::Rules::migrations_left($k, $t, $eff), 0, 'cap reached');
    is(PVE::Balancer::Manager::Rules::next_start_allowed($k, $t, $eff), $t - 100 + 3600,
        '... until the oldest of the hour is an hour old');

    is(PVE::Balancer::Manager::Rules::stable_minutes($k, $t, $eff), 30,
        'stable period: at least the interval');
    PVE::Balancer::Manager::Rules::observe($k, $t, 1, 0.2);
    is(PVE::Balancer::Manager::Rules::stable_minutes($k, $t + 7200, $eff), 120,
        '... as long as the imbalance lasted');
    is(PVE::Balancer::Manager::Rules::stable_minutes($k, $t + 10 * 86400, $eff), 1440,
        '... at most a day');
    is(PVE::Balancer::Manager::Rules::cost_weight(0.04, 120), 0.02, 'cost-weight for 2 h');
    is(PVE::Balancer::Manager::Rules::cost_weight(0.04, 1), 1, 'at most 1');
    PVE::Balancer::Manager::Rules::observe($k, $t + 60, 0, 0.01);
    ok(!$k->{imbalance}, 'a balanced cycle ends the streak');
};

subtest 'windows and blackouts' => sub {
    my $lt = sub {
        my ($date, $wday, $h, $m) = @_;
        return { date => $date, wday => $wday, hour => $h, min => $m };
    };
    my $eff = { 'auto-window' => 'mon..fri 22:00-06:00, sat,sun 0-24' };
    # 2025-12-01 is a Monday
    ok(PVE::Balancer::Window::closed($eff, $lt->('2025-12-01', 1, 12, 0)), 'Monday noon: closed');
    ok(!PVE::Balancer::Window::closed($eff, $lt->('2025-12-01', 1, 22, 0)), 'Monday 22:00: open');
    ok(!PVE::Balancer::Window::closed($eff, $lt->('2025-12-02', 2, 5, 59)),
        'Tuesday 05:59: open (the Monday night range)');
    ok(PVE::Balancer::Window::closed($eff, $lt->('2025-12-02', 2, 6, 0)), 'Tuesday 06:00: closed');
    ok(!PVE::Balancer::Window::closed($eff, $lt->('2025-12-06', 6, 5, 59)),
        'Saturday 05:59: open (Friday night and Saturday)');
    ok(!PVE::Balancer::Window::closed($eff, $lt->('2025-12-07', 0, 23, 59)), 'Sunday: open');
    ok(PVE::Balancer::Window::closed($eff, $lt->('2025-12-08', 1, 5, 0)),
        'Monday 05:00: closed (no Sunday night range)');
    my $b = { 'auto-blackout' => '2025-12-24..2025-12-26, mon 8-9' };
    like(PVE::Balancer::Window::closed($b, $lt->('2025-12-25', 4, 3, 0)), qr/blackout/,
        'Christmas: blackout');
    ok(!PVE::Balancer::Window::closed($b, $lt->('2025-12-27', 6, 3, 0)), 'the day after: open');
    ok(PVE::Balancer::Window::closed($b, $lt->('2025-12-01', 1, 8, 30)), 'Monday 8:30: blackout');
    eval { PVE::Balancer::Window::closed({ 'auto-window' => 'nightly' }, $lt->('2025-12-01', 1,
        0, 0)) };
    like($@, qr/^auto-window: expected a weekday/, 'an unreadable window is an error');
    eval { PVE::Balancer::Config::normalize('auto-window', '2025-12-24') };
    like($@, qr/dates only in auto-blackout/, 'dates are for blackouts only');
    eval { PVE::Balancer::Config::normalize('auto-window', '12-8x') };
    like($@, qr/expected ',' or ';' before the next range at 'x'/, 'the API says where');
    is(PVE::Balancer::Config::normalize('auto-window', 'sat,sun 0-24'), 'sat,sun 0-24',
        'a valid window is kept as written');
    my $cfg = PVE::Balancer::Config::parse_config(undef, "auto: 1\nauto-window: 8-8\n");
    is_deeply([map { "$_->{line}:$_->{key}" } @{ $cfg->{errors} }], ['2:auto-window'],
        'balancer.cfg: a bad window is a bad value with its line');
};

subtest 'backups: jobs.cfg, included guests, guard' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    $env->write_cfs_file('jobs.cfg', <<'EOF');
vzdump: backup-all
	schedule 02:00
	all 1
	exclude 201,202
	mode snapshot
	storage pbs

vzdump: backup-one
	schedule sun 05:00
	vmid 201
	node pve1

vzdump: backup-off
	schedule *:*
	vmid 202
	enabled 0

vzdump: backup-bad
	schedule not a schedule
	vmid 202

realm-sync: sync-ldap
	schedule *:*
	realm ldap
EOF
    my ($jobs, $problems) = PVE::Balancer::Backup::parse_jobs_cfg(
        $env->read_cfs_file('jobs.cfg'));
    is_deeply([sort keys %$jobs], [qw(backup-all backup-bad backup-off backup-one sync-ldap)],
        'every section');
    is($jobs->{'backup-all'}->{exclude}, '201,202', 'properties');
    my $guests = { 201 => 'pve1', 202 => 'pve2', 203 => 'pve1', 204 => 'pve2' };
    is_deeply(PVE::Balancer::Backup::job_guests($jobs->{'backup-all'}, $guests, {}), [203, 204],
        'all but the excluded');
    is_deeply(PVE::Balancer::Backup::job_guests({ vmid => '201,203', node => 'pve2' }, $guests,
        {}), [], 'node: only guests on that node');
    is_deeply(PVE::Balancer::Backup::job_guests({ pool => 'web', vmid => '204' }, $guests,
        { web => [201, 202] }), [201, 202], 'pool before vmid');

    my $snapshot = PVE::Balancer::Planner::collect($env, PVE::Balancer::Config::load($env));
    my $eff = { 'backup-guard' => 30, 'backup-duration' => 180 };
    # the simulated clock starts at 1700000000 = 2023-11-14 22:13:20 UTC (a Tuesday)
    my ($guarded, $errs) = PVE::Balancer::Backup::guarded($env, $snapshot, $eff);
    is_deeply($guarded, {}, '22:13: no backup near');
    like(join(' ', @$errs), qr/backup job backup-bad: schedule 'not a schedule'/,
        'an unreadable schedule is reported');
    $sim->advance(3 * 3600 + 1200); # 01:33: 02:00 is 27 minutes away
    ($guarded) = PVE::Balancer::Backup::guarded($env, $snapshot, $eff);
    my @all = grep { !m/^20[12]$/ } map { $_->{vmid} // () } @{ $snapshot->{resources} };
    is_deeply([sort { $a <=> $b } keys %$guarded], [sort { $a <=> $b } @all],
        '01:33: the guests of the 02:00 job are guarded, the excluded ones not');
    like($guarded->{203}, qr/backup job backup-all \(02:00\) due in 27 min/, 'and why');
    $sim->advance(2 * 3600); # 03:33, started 93 min ago
    ($guarded) = PVE::Balancer::Backup::guarded($env, $snapshot, $eff);
    like($guarded->{203} // '', qr/started 93 min ago/, 'while the job may still run');
    $sim->advance(2 * 3600); # 05:33
    ($guarded) = PVE::Balancer::Backup::guarded($env, $snapshot, $eff);
    is_deeply($guarded, {}, 'after backup-duration: free');
    ($guarded) = PVE::Balancer::Backup::guarded($env, $snapshot, { 'backup-guard' => 0 });
    is_deeply($guarded, {}, 'backup-guard 0: backups are not looked at');
};

subtest 'cycle: decisions' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');

    my ($code, $r) = cycle($env);
    is($code, 0, 'auto off: exit 0');
    is($r->{decision}, 'off', '... nothing to do');

    write_cfg($env, "auto: 1\nrrd-window: 0\nmax-migrations: 2\n");
    ($code, $r) = cycle($env, id => 'c1');
    is($code, 0, 'first round');
    is($r->{decision}, 'held', 'out of balance once: held (hold-rounds 2)');
    like($r->{why}, qr/in 1 of 2 consecutive round/, '... and why');
    ok(!@{ PVE::Balancer::History::read_runs($env) }, 'no run');

    $sim->advance(1800);
    ($code, $r) = cycle($env, id => 'c2');
    is($r->{decision}, 'acted', 'second round: acted');
    is($r->{moved}, 2, 'two migrations (max-migrations 2)');
    my $runs = PVE::Balancer::History::read_runs($env);
    is($runs->[0]->{id}, 'c2', 'the run is recorded under the cycle id');
    is($runs->[0]->{trigger}, 'interval', '... with its trigger');
    is($runs->[0]->{by}, 'pve-balancerd', '... and who ran it');
    my $k = PVE::Balancer::Manager::Knowledge::read($env);
    my @cool = sort keys %{ PVE::Balancer::Manager::Rules::cooling($k, $sim->{time}) };
    is(scalar(@cool), 2, 'both moved guests are in cooldown');
    is(scalar(@{ $k->{started} }), 2, 'their starts count for the hourly cap');
    my ($note) = grep { $_->{template} eq 'pve-balancer-run' } @{ $sim->{notifications} };
    ok($note, 'a run notification');
    is($note->{severity}, 'info', '... info');
    is($note->{fields}->{trigger}, 'interval', '... with the trigger as a field');
    ok($note->{rendered}, '... and the templates render with its data')
        or diag explain $note->{problems};

    # the guests that moved are left alone: the next plan must not touch them
    $sim->advance(600);
    ($code, $r) = cycle($env, id => 'c3');
    my $plan_moves = $r->{planned} // 0;
    if ($r->{decision} eq 'held') {
        pass('the rest is held first');
        $sim->advance(600);
        ($code, $r) = cycle($env, id => 'c4');
    }
    my $runs2 = PVE::Balancer::History::read_runs($env);
    my %moved_now = map { $_->{vmid} => 1 } @{ $runs2->[0]->{migrations} // [] };
    ok(!grep({ $moved_now{$_} } @cool) || $runs2->[0]->{id} eq 'c2',
        'guests in cooldown are not moved again');
    like($r->{why}, qr/in cooldown/, 'the cycle says guests are in cooldown')
        if $r->{decision} ne 'acted';

    write_cfg($env, "auto: 1\nrrd-window: 0\nmax-migrations: bad\n");
    ($code, $r) = cycle($env, id => 'c5');
    is($code, 1, 'balancer.cfg with errors: exit 1');
    like($r->{why}, qr/max-migrations: expected an integer/, '... naming the error');

    # Moves must qualify for the window to be what stops the cycle: after c1..c4 the plans of
    # the improvement search leave only small gains (objective about 0.023), below what the
    # default cost-weight, min-improvement and cooldown let through.
    write_cfg($env, "auto: 1\nrrd-window: 0\nauto-window: mon 1:00-2:00\ncost-weight: 0\nmin-improvement: 0\ncooldown: 0\n");
    $env->delete_cfs_file('balancer/manager.json');
    ($code, $r) = cycle($env, id => 'c6', cfg => undef);
    ($code, $r) = cycle($env, id => 'c7');
    is($r->{decision}, 'closed', 'outside the window: does not act');
    like($r->{why}, qr/outside the balancing window at 2023-11-1\d \d\d:\d\d \(auto-window: mon 1:00-2:00\)/,
        '... and says when');
};

subtest 'cycle: no quorum, lease held, SIGTERM, quorum lost, deadline' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    write_cfg($env, "auto: 1\nrrd-window: 0\nhold-rounds: 1\n");

    $sim->{no_quorum} = 1;
    my ($code, $r) = cycle($env, id => 'q1');
    is($code, 75, 'not quorate: exit 75');
    is($r->{decision}, 'skipped', '... skipped');
    ok(!defined($env->read_cfs_file('balancer/manager.json')), '... and writes nothing');
    $sim->{no_quorum} = 0;

    PVE::Balancer::Lease::acquire($env, { id => 'other', upid => undef, node => 'pve2',
        user => 'root@pam', kind => 'balance', started => $sim->{time} });
    ($code, $r) = cycle($env, id => 'l1');
    is($code, 75, 'another run holds the lease: exit 75');
    like($r->{why}, qr/another balance run is in progress \(other/, '... and says which');
    PVE::Balancer::Lease::release($env, 'other');

    # SIGTERM while the first wave runs: it finishes and is recorded, nothing more starts
    $sim->at(4, sub { kill('TERM', $$) });
    ($code, $r) = cycle($env, id => 't1');
    is($code, 0, 'SIGTERM: exit 0 (the daemon records it as cancelled)');
    is($r->{decision}, 'cancelled', 'cancelled');
    my $run = PVE::Balancer::History::find($env, 't1');
    is($run->{status}, 'cancelled', 'the run record says cancelled');
    ok($run->{moved} >= 1, 'the migrations in flight finished');
    is($run->{moved} + $run->{'not-started'}, $run->{planned}, 'the rest did not start');
    ok(!PVE::Balancer::Lease::read($env), 'the lease is released');

    # quorum lost while a wave runs: no further wave, exit 75
    $env->delete_cfs_file('balancer/manager.json');
    $sim = PVEBalancerTest::SimCluster->load(PVEBalancerTest::Setup::fixture('executor.json'));
    $env->plug->{sim} = $sim;
    $sim->at(4, sub { $_[0]->{no_quorum} = 1 });
    ($code, $r) = cycle($env, id => 'q2');
    is($code, 75, 'quorum lost mid-cycle: exit 75');
    like($r->{why}, qr/stopped: quorum lost/, '... stopped before the next wave');
    $run = PVE::Balancer::History::find($env, 'q2');
    ok($run->{'not-started'} >= 1, 'the next wave did not start');
    $sim->{no_quorum} = 0;

    # a deadline too close for another wave
    $env->delete_cfs_file('balancer/manager.json');
    $sim = PVEBalancerTest::SimCluster->load(PVEBalancerTest::Setup::fixture('executor.json'));
    $env->plug->{sim} = $sim;
    ($code, $r) = cycle($env, id => 'd1', deadline => $sim->{time} + 30);
    is($r->{decision}, 'cancelled', 'deadline: stops');
    like($r->{why}, qr/deadline .* is too close/, '... and says why');
};

subtest 'HA capacity below target: notified once' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    write_cfg($env, "auto: 1\nrrd-window: 0\ncapacity-target: 3\nhold-rounds: 5\n");
    my ($code, $r) = cycle($env, id => 'k1');
    my @caps = grep { $_->{template} eq 'pve-balancer-capacity' } @{ $sim->{notifications} };
    is(scalar(@caps), 1, 'below target: one notification');
    is($caps[0]->{severity}, 'warning', '... a warning');
    ok($caps[0]->{rendered}, '... that renders') or diag explain $caps[0]->{problems};
    cycle($env, id => 'k2');
    @caps = grep { $_->{template} eq 'pve-balancer-capacity' } @{ $sim->{notifications} };
    is(scalar(@caps), 1, 'still below: no second one');
    write_cfg($env, "auto: 1\nrrd-window: 0\ncapacity-target: 1\nhold-rounds: 5\nnotify: problems\n");
    cycle($env, id => 'k3');
    @caps = grep { $_->{template} eq 'pve-balancer-capacity' } @{ $sim->{notifications} };
    is(scalar(@caps), 1, 'back at target with notify problems: not notified');
};

subtest 'status: the daemon object' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    my $status = PVEBalancerTest::API::call('GET', '/cluster/balance', {});
    ok(!exists($status->{daemon}), 'no daemon status files: no daemon object');

    write_cfg($env, "auto: 1\nrrd-window: 0\nhold-rounds: 1\nmax-migrations: 2\n");
    my (undef, $r) = cycle($env, id => 'pve1-1700000000-4', trigger => 'pressure',
        detail => 'pressure on pve1 (cpu 35.2%)');
    $env->write_cfs_file('balancer/daemon.json', encode_json({
        format => 1,
        active => { node => 'pve1', nodeid => 1, since => 1699999000 },
        nodes => {
            pve1 => { nodeid => 1, role => 'active', quorate => JSON::true,
                pressure => { mode => 'trigger', high => ['cpu'] } },
            pve2 => { nodeid => 2, role => 'standby', quorate => JSON::true },
        },
        cycle => undef,
        'last-cycle' => { id => 'pve1-1700000000-4', node => 'pve1', trigger => 'pressure',
            detail => 'pressure on pve1 (cpu 35.2%)', started => 1700000000,
            finished => 1700000030, result => 'ok', 'exit-code' => 0 },
        'next-cycle' => { due => 1700003600, trigger => 'interval' },
        updated => 1700000030,
    }));
    $sim->{daemon_status} = { node => 'pve1', role => 'active', daemon => { pid => 1 },
        config => { error => undef } };
    $status = PVEBalancerTest::API::call('GET', '/cluster/balance', {});
    my $d = $status->{daemon};
    ok($d, 'daemon object');
    is($d->{'active-node'}, 'pve1', 'active node');
    is_deeply([map { "$_->{node}:$_->{state}" } @{ $d->{nodes} }], ['pve1:active', 'pve2:standby'],
        'each node and its state');
    is_deeply($d->{nodes}->[0]->{pressure}, ['cpu'], 'node pressure');
    is($d->{'last-cycle'}->{time}, 1700000030, 'last cycle: when');
    is($d->{'last-cycle'}->{trigger}, 'pressure', '... the trigger');
    is($d->{'last-cycle'}->{decision}, 'acted', '... what the cycle decided');
    like($d->{'last-cycle'}->{why}, qr/^moved 2 of 2 planned/, '... and why');
    is($d->{'last-cycle'}->{result}, 'ok', '... the daemon\'s result');
    is_deeply($d->{'next-cycle'}, { time => 1700003600, trigger => 'interval' }, 'next cycle');
    is(scalar(@{ $d->{cooldown} }), 2, 'guests in cooldown');
    ok($d->{cooldown}->[0]->{until} > $sim->{time}, '... until when');
    is($d->{'this-node'}->{state}, 'active', 'this node');

    my $vmid = $d->{cooldown}->[0]->{vmid};
    my $rpcenv = PVE::RPCEnvironment::get();
    $rpcenv->set_acl({ 'audit@pve' => { '/' => ['Sys.Audit'], "/vms/$vmid" => ['VM.Audit'] } });
    $status = PVEBalancerTest::API::call('GET', '/cluster/balance', {}, user => 'audit@pve');
    is_deeply([map { $_->{vmid} } @{ $status->{daemon}->{cooldown} }], [$vmid],
        'cooldown lists only guests the caller may see');
    $rpcenv->set_user('root@pam');
};

# The real cycle command in its own process, as pve-balancerd starts it (docs/daemon.md).
sub run_command {
    my (%opts) = @_;

    my $cfs = $opts{cfs};
    local $ENV{PVEBAL_TEST_FIXTURE} = 'executor.json';
    local $ENV{PVEBAL_TEST_CFS} = $cfs;
    local $ENV{PVEBAL_TEST_NO_QUORUM} = $opts{no_quorum} ? 1 : 0;
    local $ENV{PVEBAL_TEST_PACE} = $opts{pace} // 0;
    local $ENV{PVE_BALANCER_CYCLE_ID} = $opts{id};
    local $ENV{PVE_BALANCER_TRIGGER} = 'interval';
    local $ENV{PVE_BALANCER_TRIGGER_DETAIL} = 'interval (60 min)';
    local $ENV{PVE_BALANCER_DEADLINE} = 1_700_000_000 + 21600;
    local $ENV{PVE_BALANCER_GRACE} = 300;
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, $^X, "-I$root/tests/perl/lib",
        '-MPVEBalancerTest::CycleHarness', "$root/bin/pve-balancer-cycle");
    close($in);
    my $output = '';
    while (my $line = <$out>) {
        $output .= $line;
        if ($opts{on_line} && $opts{on_line}->($line, $pid)) {
            $opts{on_line} = undef;
        }
    }
    my $stderr = do { local $/; <$err> } // '';
    waitpid($pid, 0);
    return ($? >> 8, $output, $stderr, $? & 127);
}

subtest 'the cycle command keeps the daemon\'s contract' => sub {
    my $cfs = tempdir(CLEANUP => 1);
    my ($code, $out, $stderr) = run_command(cfs => $cfs, id => 'n1', no_quorum => 1);
    is($code, 75, 'not quorate: exit 75');
    like($out, qr/^cycle n1 \(interval\): skipped - this node is not in the quorate partition$/m,
        '... says so');

    ($code, $out) = run_command(cfs => $cfs, id => 'n2');
    is($code, 0, 'auto off: exit 0');
    like($out, qr/cycle n2 \(interval\): off - automatic balancing is off/, '... says so');

    open(my $fh, '>', "$cfs/balancer.cfg") or die;
    print $fh "auto: 1\nrrd-window: 0\nhold-rounds: 1\nmigration-timeout: 60\n";
    close($fh);
    ($code, $out, $stderr) = run_command(cfs => $cfs, id => 'n3');
    is($code, 0, 'a cycle that migrates: exit 0') or diag $out, $stderr;
    like($out, qr/cycle n3 \(interval\): acted - moved \d+ of \d+ planned/, '... acted');
    my $k = decode_json(do { local $/; open(my $f, '<', "$cfs/balancer/manager.json") or die; <$f> });
    is($k->{cycles}->[0]->{detail}, 'interval (60 min)', 'the trigger detail is recorded');

    # SIGTERM from the daemon while a migration runs (the simulated seconds take real time now)
    unlink("$cfs/balancer/manager.json");
    my $sent = 0;
    ($code, $out, $stderr) = run_command(cfs => $cfs, id => 'n4', pace => 0.2, on_line => sub {
        my ($line, $pid) = @_;
        return 0 if $line !~ m/: started \(online/;
        kill('TERM', $pid);
        $sent = 1;
        return 1;
    });
    ok($sent, 'SIGTERM sent while a migration ran');
    is($code, 0, 'the cycle exits after it');
    like($out, qr/received interrupt: starting no further migration/, 'starts nothing new');
    like($out, qr/^migration 1\/\d+: vm \d+ \S+ -> \S+ \.\.\. OK/m,
        'the migration in flight finished and is logged');
    like($out, qr/cycle n4 \(interval\): cancelled - moved \d+ of \d+ planned.*stopped: received interrupt/,
        'the cycle says it was cancelled');
    my $runs = decode_json(do { local $/; open(my $f, '<', "$cfs/balancer/runs.json") or die; <$f> });
    my ($run) = grep { $_->{id} eq 'n4' } @$runs;
    is($run->{status}, 'cancelled', 'the run record says cancelled');
    is($run->{moved} + $run->{'not-started'}, $run->{planned}, 'every step accounted for');
    ok(!-e "$cfs/balancer/active.json", 'the lease is released');
};

done_testing();
