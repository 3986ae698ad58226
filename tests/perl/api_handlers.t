#!/usr/bin/perl
# The /cluster/balance endpoints end to end, as pvedaemon (and pvesh) call them, on the
# simulated cluster: status, dry run and apply (worker task, digest check, one run at a
# time), evacuate, capacity, failover, place, config and snapshot.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use PVEBalancerTest::Setup;
use PVEBalancerTest::API;

use JSON;
use Test::More;

use PVE::APIClient::LWP;
use PVE::Balancer::APIRegister;
use PVE::Balancer::History;
use PVE::Balancer::Planner;
use PVE::Tools;

diag("engine: $PVEBalancerTest::Setup::native ($PVEBalancerTest::Setup::native_file)");

sub call {
    return PVEBalancerTest::API::call(@_);
}

sub task_log {
    my ($upid) = @_;
    return PVE::RPCEnvironment::get()->task_log($upid);
}

subtest 'status, dry run, apply' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');

    my $status = call('GET', '/cluster/balance', {});
    is($status->{auto}, 0, 'automatic balancing off by default');
    is($status->{'ha-auto-rebalance'}, 0, 'HA auto-rebalance off');
    is($status->{'ha-guests'}, 'move', 'HA guests are balanced');
    ok($status->{metrics}->{imbalance} > 0.1, 'current imbalance');
    is(scalar(@{ $status->{nodes} }), 3, 'per-node view');
    ok(defined($status->{capacity}->{'tolerated-failures'}), 'HA capacity summary');
    is_deeply($status->{runs}, [], 'no runs yet');
    ok(!$status->{active}, 'nothing running');
    is($status->{engine}, PVE::Balancer::Native::version(), 'engine version');

    my $plan = call('POST', '/cluster/balance', {});
    is($plan->{kind}, 'balance', 'dry run returns a plan');
    ok(@{ $plan->{migrations} } > 0, 'with migrations');
    is($plan->{digest}, PVE::Balancer::Planner::plan_digest($plan), 'and its digest');
    is(scalar(@{ $sim->{migrations} }), 0, 'a dry run moves nothing');

    my $small = call('POST', '/cluster/balance', { 'max-migrations' => 1 });
    is(scalar(@{ $small->{migrations} }), 1, 'engine options as parameters');

    my $res = eval { call('POST', '/cluster/balance', { apply => 1, digest => 'a' x 40 }) };
    my $err = $@;
    is(ref($err) && $err->{code}, 409, 'apply with another digest: 409');
    like("$err", qr/plan changed since it was shown/, '... says why');

    my $upid = call('POST', '/cluster/balance', { apply => 1, digest => $plan->{digest} });
    like($upid, qr/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:balance::root\@pam:$/,
        'apply returns the UPID of a balance task');
    my $log = task_log($upid);
    my $n = scalar(@{ $plan->{migrations} });
    for my $m (@{ $plan->{migrations} }) {
        like($log, qr/^migration $m->{step}\/$n: vm $m->{vmid} $m->{from} -> $m->{to}( \(HA\))? \.\.\. OK \(\d+ s\)$/m,
            "task log: migration $m->{step}");
        is($sim->{guests}->{ $m->{vmid} }->{node}, $m->{to}, "vm $m->{vmid} moved");
    }
    like($log, qr/^summary: $n of $n migration\(s\) done/m, 'task log: summary');
    like($log, qr/^TASK OK$/m, 'task OK');

    $status = call('GET', '/cluster/balance', {});
    is($status->{runs}->[0]->{status}, 'ok', 'status lists the run');
    is($status->{runs}->[0]->{upid}, $upid, '... with its UPID');
    ok(!exists($status->{runs}->[0]->{migrations}), '... in short form');
    ok($status->{metrics}->{imbalance} < $plan->{metrics}->{before}->{imbalance},
        'the cluster is better balanced');

    my $again = call('POST', '/cluster/balance', {});
    ok(@{ $again->{migrations} } < $n, 'afterwards there is less to do');
};

subtest 'one run at a time through the API' => sub {
    my ($sim, $env, $cfs) = PVEBalancerTest::Setup::cluster('executor.json');
    my $upid = 'UPID:pve2:00001234:00005678:6553F100:balance::root@pam:';
    mkdir("$cfs/balancer");
    PVE::Tools::file_set_contents("$cfs/balancer/active.json", encode_json({
        id => $upid, upid => $upid, node => 'pve2', user => 'root@pam', kind => 'balance',
        started => $sim->{time}, heartbeat => $sim->{time},
    }));
    my $res = eval { call('POST', '/cluster/balance', { apply => 1 }) };
    my $err = $@;
    is(ref($err) && $err->{code}, 409, 'second apply: 409');
    like("$err", qr/another balance run is in progress \(\Q$upid\E, balance started by root\@pam on pve2\)/,
        '... names the run');
    my $status = call('GET', '/cluster/balance', {});
    is($status->{active}->{upid}, $upid, 'status shows the active run');
    ok(call('POST', '/cluster/balance', {}), 'a dry run is still possible');

    # a run whose task died without finishing its record
    PVE::Balancer::History::record($env, { id => 'x1', status => 'running', started => 1 });
    unlink("$cfs/balancer/active.json");
    $status = call('GET', '/cluster/balance', {});
    is($status->{runs}->[0]->{status}, 'interrupted', 'a dead running record shows as interrupted');
};

subtest 'evacuate' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    my $plan = call('POST', '/cluster/balance/evacuate', { node => 'pve2' });
    is($plan->{kind}, 'evacuate', 'evacuate plan');
    is_deeply($plan->{drained}, ['pve2'], 'drains pve2');
    ok(!grep({ $_->{from} ne 'pve2' && !$_->{temporary} } @{ $plan->{migrations} }),
        'moves guests off pve2');

    my $upid = call('POST', '/cluster/balance/evacuate', { node => 'pve2', apply => 1 });
    like($upid, qr/:balance-evacuate:pve2:root\@pam:$/, 'task type balance-evacuate, id = node');
    like(task_log($upid), qr/^TASK (?:OK|WARNINGS: 1)$/m,
        'the worker (a forked process) ran; the unplaced container is a warning');
    my @left = grep { $_->{node} eq 'pve2' } values %{ $sim->{guests} };
    is_deeply(
        [sort map { $_->{name} } @left],
        [sort map { $_->{name} } @{ $plan->{unplaced} }],
        'only the guests the plan could not place stay on pve2',
    );
    my $run = PVE::Balancer::History::read_runs($env)->[0];
    is($run->{kind}, 'evacuate', 'recorded as evacuate');
    is_deeply($run->{nodes}, ['pve2'], 'with the drained node');
};

subtest 'capacity, failover, place' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    my $cap = call('GET', '/cluster/balance/capacity', { 'target-failures' => 2 });
    is($cap->{kind}, 'capacity', 'capacity');
    is($cap->{target}->{failures}, 2, 'target-failures passed on');
    my $all = call('GET', '/cluster/balance/capacity', { 'all-guests' => 1 });
    ok($all->{'ha-guests'} > $cap->{'ha-guests'}, 'all-guests counts every running guest');

    my $fo = call('GET', '/cluster/balance/failover', { 'failed-node' => 'pve1' });
    is($fo->{kind}, 'failover', 'failover');
    is_deeply([sort map { $_->{vmid} } @{ $fo->{migrations} }], [209, 210],
        'the HA guests of pve1 restart elsewhere');

    my $place = call('GET', '/cluster/balance/place', { cpu => 2, mem => '4G' });
    is($place->{best}, 'pve3', 'a new guest goes to the emptiest node');
    my $pinned = call('GET', '/cluster/balance/place',
        { cpu => 2, mem => '4G', tags => 'pvebal-pin-pve2' });
    is($pinned->{best}, 'pve2', 'tags of the new guest are honoured');
    my $apart = call('GET', '/cluster/balance/place',
        { cpu => 1, mem => '1G', 'apart-from' => '206' });
    my ($pve2) = grep { $_->{node} eq 'pve2' } @{ $apart->{nodes} };
    ok(!$pve2->{fits}, 'apart-from keeps it off the node of 206');
};

subtest 'configuration' => sub {
    my ($sim, $env, $cfs) = PVEBalancerTest::Setup::cluster('executor.json');

    my $cfg = call('GET', '/cluster/balance/config', {});
    is_deeply([keys %$cfg], ['digest'], 'nothing set');
    my $defaults = call('GET', '/cluster/balance/config', { defaults => 1 });
    is($defaults->{'max-migrations'}, 10, 'defaults: max-migrations 10');
    is($defaults->{'on-failure'}, 'stop', "defaults: on-failure stop");
    is($defaults->{auto}, 0, 'defaults: auto 0');

    call('PUT', '/cluster/balance/config',
        { 'max-migrations' => 2, auto => 1, interval => 30, 'ha-guests' => 'skip' });
    $cfg = call('GET', '/cluster/balance/config', {});
    is_deeply({ map { $_ => $cfg->{$_} } grep { $_ ne 'digest' } keys %$cfg },
        { 'max-migrations' => 2, auto => 1, interval => 30, 'ha-guests' => 'skip' },
        'values stored');
    my $raw = PVE::Tools::file_get_contents("$cfs/balancer.cfg");
    like($raw, qr/^auto: 1\nha-guests: skip\ninterval: 30\nmax-migrations: 2\n\z/m,
        'balancer.cfg: key: value lines, sorted');

    my $plan = call('POST', '/cluster/balance', {});
    is(scalar(@{ $plan->{migrations} }), 2, 'the plan honours max-migrations of balancer.cfg');
    ok(!grep({ $_->{vmid} == 209 || $_->{vmid} == 210 } @{ $plan->{migrations} }),
        "ha-guests skip: HA guests stay");
    $plan = call('POST', '/cluster/balance', { 'max-migrations' => 3 });
    is(scalar(@{ $plan->{migrations} }), 3, 'a parameter overrides balancer.cfg');

    my $status = call('GET', '/cluster/balance', {});
    is($status->{auto}, 1, 'status: auto');
    is($status->{interval}, 30, 'status: interval');
    is($status->{'ha-guests'}, 'skip', 'status: HA guests skipped');

    my $res = eval { call('PUT', '/cluster/balance/config', { auto => 0, digest => 'b' x 40 }) };
    like("$@", qr/detected modified configuration/, 'digest mismatch refused');
    call('PUT', '/cluster/balance/config', { auto => 0, digest => $cfg->{digest} });
    is(call('GET', '/cluster/balance/config', {})->{auto}, 0, 'with the right digest');

    call('PUT', '/cluster/balance/config', { delete => 'max-migrations,ha-guests' });
    $cfg = call('GET', '/cluster/balance/config', {});
    ok(!exists($cfg->{'max-migrations'}) && !exists($cfg->{'ha-guests'}), 'delete resets keys');
};

subtest 'snapshot' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    my $raw = call('GET', '/cluster/balance/snapshot', { kind => 'raw' });
    ok(@{ $raw->{resources} } > 10, 'resources');
    is($raw->{ha}->{resources}->[0]->{sid}, 'vm:209', 'HA part');

    # what the CLI makes of it is what the API plans
    my $snap = call('GET', '/cluster/balance/snapshot', {});
    my $offline = PVE::Balancer::Native::plan(JSON->new->canonical->encode($snap));
    my $online = call('POST', '/cluster/balance', {});
    is(PVE::Balancer::Planner::plan_digest({ %$offline, kind => 'balance' }), $online->{digest},
        'the snapshot gives the same plan offline');

    $sim->{datacenter}->{crs} = { ha => 'static', 'ha-auto-rebalance' => 1 };
    $snap = call('GET', '/cluster/balance/snapshot', {});
    like($snap->{comment}, qr/HA-managed guest\(s\) left in place: the HA manager balances them/,
        'HA auto-rebalance on: the snapshot says so');
    my $plan = call('POST', '/cluster/balance', {});
    ok(!grep({ $_->{vmid} == 209 || $_->{vmid} == 210 } @{ $plan->{migrations} }),
        'and the plan leaves HA guests to the HA manager');
    like(join(' ', @{ $plan->{notes} }), qr/left in place/, 'plan note');
    my $status = call('GET', '/cluster/balance', {});
    is($status->{'ha-auto-rebalance'}, 1, 'status: HA auto-rebalance on');
    is($status->{'ha-guests'}, 'skip', 'status: HA guests skipped');
    my $evac = call('POST', '/cluster/balance/evacuate', { node => 'pve1' });
    ok(grep({ $_->{vmid} == 209 } @{ $evac->{migrations} }), 'evacuation still moves HA guests');
};

subtest 'status survives engine errors' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    no warnings 'redefine';
    local *PVE::Balancer::Native::capacity = sub { die "pve-balancer: capacity: broken\n" };
    my $status = call('GET', '/cluster/balance', {});
    like(join("\n", @{ $status->{errors} }), qr/^capacity: pve-balancer: capacity: broken$/m,
        'error listed');
    ok($status->{metrics}, 'the rest is there');
};

subtest 'apply from pvesh (CLI environment)' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json', type => 'cli');
    my $upid = call('POST', '/cluster/balance', { apply => 1, 'max-migrations' => 2 });
    ok($sim->{tasks}->{$upid} && !$sim->{tasks}->{$upid}->{running},
        'pvesh waits for the worker (sync)');
    like(task_log($upid), qr/^TASK OK$/m, 'task OK');
    is(scalar(grep { $_->[0] eq 'POST' } @{ $sim->{api_requests} }), 2,
        'both migrations through the API of the local node');
};

subtest 'apply with on-failure replan' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    my $plan = call('POST', '/cluster/balance', {});
    my $victim = $plan->{migrations}->[0]->{vmid};
    $sim->{behaviour}->{$victim} = { fail => 'migration problems' };
    my $upid = call('POST', '/cluster/balance', { apply => 1, 'on-failure' => 'replan' });
    my $log = task_log($upid);
    like($log, qr/vm $victim .* FAILED/, 'the migration failed');
    like($log, qr/^re-plan 1\/2 from the current state \(leaving out $victim\)/m, 're-planned');
    like($log, qr/^TASK ERROR: \d+ of \d+ migration\(s\) did not complete \(1 failed/m,
        'task error names the outcome');
    is(PVE::Balancer::History::read_runs($env)->[0]->{status}, 'partial', 'recorded as partial');
};

done_testing();
