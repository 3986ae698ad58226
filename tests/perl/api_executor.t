#!/usr/bin/perl
# The executor against a simulated cluster (fixtures/api/executor.json) with a fake clock:
# migrations that succeed, fail, time out, a node lost mid-plan, HA guests (CRM command, then
# wait for the HA manager), re-validation before each step, parallel limits, the run lease
# (a second run is refused, a stale lease is taken over), re-planning after a failure, and
# the run record in balancer/runs.json.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use PVEBalancerTest::Setup;

use JSON;
use Test::More;

use PVE::APIClient::LWP;
use PVE::Balancer::Config;
use PVE::Balancer::Executor;
use PVE::Balancer::History;
use PVE::Balancer::Lease;
use PVE::Tools;

diag("engine: $PVEBalancerTest::Setup::native ($PVEBalancerTest::Setup::native_file)");

my $cfg = PVE::Balancer::Config::parse_config('balancer.cfg', "rrd-window: 0\n");

# A plan as the engine writes it: [wave, vmid, from, to, options...] per migration.
sub make_plan {
    my (@moves) = @_;

    my $step = 0;
    my $migrations = [];
    for my $m (@moves) {
        my ($wave, $vmid, $from, $to, %o) = @$m;
        push @$migrations, {
            step => ++$step,
            wave => $wave,
            vmid => $vmid,
            type => $o{type} // 'qemu',
            name => "guest$vmid",
            from => $from,
            to => $to,
            mode => $o{mode} // 'online',
            ha => $o{ha} ? JSON::true : JSON::false,
            'with-local-disks' => $o{local} ? JSON::true : JSON::false,
            temporary => JSON::false,
            reason => 'test',
            cost => { bytes => 2**30, seconds => 10, downtime => 0.05 },
        };
    }
    my $metrics = {
        imbalance => 0.3,
        objective => 0.2,
        cpu => { max => 0.7, stddev => 0.2 },
        memory => { max => 0.7, stddev => 0.2 },
    };
    return {
        kind => 'balance',
        migrations => $migrations,
        metrics => { before => $metrics, after => $metrics },
        nodes => [],
        notes => [],
        unplaced => [],
        digest => 'f' x 40,
    };
}

sub start {
    my ($sim, $env, $cfs) = PVEBalancerTest::Setup::cluster('executor.json', @_);
    @PVE::APIClient::LWP::requests = ();
    return ($sim, $env, $cfs);
}

sub run_plan {
    my ($env, $plan, %opts) = @_;

    my $rec = eval {
        PVE::Balancer::Executor::run($env, $plan, cfg => $cfg, user => 'root@pam', %opts);
    };
    my $err = $@;
    $rec //= PVE::Balancer::History::read_runs($env)->[0];
    return ($rec, $err);
}

sub log_of {
    my ($env) = @_;
    return join("\n", @{ $env->plug->{log} }) . "\n";
}

sub result_of {
    my ($rec, $vmid) = @_;
    my ($m) = grep { $_->{vmid} == $vmid } @{ $rec->{migrations} };
    return $m ? $m->{result} : 'none';
}

subtest 'a plan that succeeds: handler, API client and HA paths' => sub {
    my ($sim, $env, $cfs) = start();
    $sim->{behaviour}->{201} = { duration => 10 };
    $sim->{behaviour}->{202} = { duration => 14 };

    my $plan = make_plan(
        [1, 201, 'pve1', 'pve2'],
        [1, 202, 'pve2', 'pve3'],
        [2, 207, 'pve1', 'pve3', local => 1],
        [2, 209, 'pve1', 'pve3', ha => 1],
    );
    my ($rec, $err) = run_plan($env, $plan, 'storage-map' => 'local-zfs:local-zfs');
    is($err, '', 'run succeeds');
    is($rec->{status}, 'ok', 'record status ok');
    is($rec->{moved}, 4, 'four migrations done');

    is($sim->{guests}->{$_->[0]}->{node}, $_->[1], "vm $_->[0] is on $_->[1]")
        for [201, 'pve2'], [202, 'pve3'], [207, 'pve3'], [209, 'pve3'];

    my $log = log_of($env);
    like($log, qr/^migration 1\/4: vm 201 pve1 -> pve2 \.\.\. OK \(10 s\)$/m, 'log line, local');
    like($log, qr/^migration 2\/4: vm 202 pve2 -> pve3 \.\.\. OK \(14 s\)$/m, 'log line, remote');
    like($log, qr/^migration 4\/4: vm 209 pve1 -> pve3 \(HA\) \.\.\. OK \(\d+ s\)$/m,
        'log line, HA');
    like($log, qr/^summary: 4 of 4 migration\(s\) done, 0 failed/m, 'summary line');
    like($log, qr/^  imbalance\s+0\.3000\s+0\.3000\s+\d\.\d{4}$/m, 'before/planned/after metrics');
    like($log, qr/^  pve3\s+\S+ ->\s+\d+\.\d%/m, 'per-node before/after');

    # which way each migration went
    my ($m201) = grep { $_->{vmid} == 201 } @{ $sim->{migrations} };
    is_deeply($m201->{params}, { online => 1, node => 'pve1' },
        'local guest: API handler in-process with online => 1');
    my @posts = grep { $_->[0] eq 'POST' } @PVE::APIClient::LWP::requests;
    is_deeply(
        [map { $_->[1] } @posts],
        ['/nodes/pve2/qemu/202/migrate'],
        'remote guest: through the API of the local node',
    );
    is($posts[0]->[3], 'root@pam', 'as the calling user');
    my ($m207) = grep { $_->{vmid} == 207 } @{ $sim->{migrations} };
    is($m207->{params}->{'with-local-disks'}, 1, 'local disks: with-local-disks');
    is($m207->{params}->{targetstorage}, 'local-zfs:local-zfs', 'storage-map as targetstorage');
    is_deeply($sim->{crm_log}, ['migrate vm:209 pve3'], 'HA guest: CRM command');
    ok(!grep({ $_->{vmid} == 209 } @{ $sim->{migrations} }), 'HA guest: no direct migration');

    ok(!-e "$cfs/balancer/active.json", 'lease released');
    my $runs = PVE::Balancer::History::read_runs($env);
    is(scalar(@$runs), 1, 'run recorded');
    is_deeply([map { $_->{result} } @{ $runs->[0]->{migrations} }], [('ok') x 4],
        'per-migration outcome recorded');
    ok($runs->[0]->{finished} > $runs->[0]->{started}, 'timestamps recorded');
    is_deeply([map { "$_->{vmid}:$_->{from}>$_->{to}" } @{ $runs->[0]->{plan} }],
        ['201:pve1>pve2', '202:pve2>pve3', '207:pve1>pve3', '209:pve1>pve3'], 'plan recorded');
    ok($runs->[0]->{metrics}->{after}, 'metrics after the run recorded');
    ok(grep({ $_ eq 'domain-pve-balancer-run' } @{ $sim->{lock_log} }),
        'lease taken under the cluster lock');
};

subtest 'a failed migration stops the run' => sub {
    my ($sim, $env) = start();
    $sim->{behaviour}->{201} = { fail => 'migration problems' };
    my $plan = make_plan([1, 201, 'pve1', 'pve2'], [1, 203, 'pve1', 'pve3'],
        [2, 204, 'pve1', 'pve3']);
    my ($rec, $err) = run_plan($env, $plan);

    like($err, qr/^2 of 3 migration\(s\) did not complete \(1 failed, 0 skipped, 1 not started\)/,
        'run ends with an error');
    my $log = log_of($env);
    like($log, qr/^WARN: migration 1\/3: vm 201 pve1 -> pve2 \.\.\. FAILED \(10 s\): migration problems$/m,
        'failure logged');
    like($log, qr/^migration 2\/3: vm 203 pve1 -> pve3 \.\.\. OK/m, 'the other one of the wave finished');
    like($log, qr/^migration 3\/3: vm 204 pve1 -> pve3 ... NOT STARTED: run stopped after a failure$/m, 'next wave not started');
    is($sim->{guests}->{201}->{node}, 'pve1', 'failed guest stays on its source');
    is($sim->{guests}->{204}->{node}, 'pve1', 'not started guest stays');
    is($rec->{status}, 'partial', 'record: partial');
    is_deeply([$rec->{moved}, $rec->{failed}, $rec->{'not-started'}], [1, 1, 1], 'counts');
    ok(!$sim->{guests}->{201}->{config}->{lock}, 'no lock left behind');
};

subtest 'a migration that takes too long is stopped' => sub {
    my ($sim, $env) = start();
    $sim->{behaviour}->{201} = { hang => 1 };
    my ($rec, $err) = run_plan($env, make_plan([1, 201, 'pve1', 'pve2']),
        'migration-timeout' => 60);

    like($err, qr/1 failed/, 'run fails');
    like(log_of($env), qr/^WARN: migration 1\/1: vm 201 pve1 -> pve2 \.\.\. TIMEOUT \(60 s\): migration took longer than 60 s, task stopped$/m,
        'timeout logged');
    my ($task) = grep { ($_->{vmid} // 0) == 201 } values %{ $sim->{tasks} };
    ok(!$task->{running}, 'migration task stopped');
    is($sim->{guests}->{201}->{node}, 'pve1', 'guest still on its source');
    is(result_of($rec, 201), 'timeout', 'recorded as timeout');
};

subtest 'a node lost in the middle of a plan' => sub {
    my ($sim, $env) = start();
    $sim->{behaviour}->{201} = { duration => 30 };
    $sim->at(5, sub { $_[0]->set_node_online('pve3', 0) });
    my $plan = make_plan([1, 201, 'pve1', 'pve3'], [1, 202, 'pve2', 'pve1'],
        [2, 203, 'pve1', 'pve3']);
    my ($rec, $err) = run_plan($env, $plan, 'on-failure' => 'stop');

    like($err, qr/did not complete/, 'run fails');
    is(result_of($rec, 201), 'failed', 'migration to the lost node failed');
    like(log_of($env), qr/vm 201 pve1 -> pve3 \.\.\. FAILED \(\d+ s\): migration aborted: node 'pve3' is unreachable/,
        'reason logged');
    is(result_of($rec, 202), 'ok', 'the migration between live nodes completed');
    is($sim->{guests}->{203}->{node}, 'pve1', 'nothing more was sent to the lost node');
};

subtest 'a node lost in the middle of a plan, on-failure replan' => sub {
    my ($sim, $env) = start();
    $sim->{behaviour}->{205} = { duration => 30 };
    $sim->at(5, sub { $_[0]->set_node_online('pve3', 0) });
    my $plan = make_plan([1, 205, 'pve1', 'pve3'], [2, 203, 'pve1', 'pve3']);
    my ($rec, $err) = run_plan($env, $plan, 'on-failure' => 'replan', kind => 'balance',
        args => { 'max-migrations' => 3 });

    is(result_of($rec, 205), 'failed', 'migration to the lost node failed');
    is($rec->{replans}, 1, 're-planned');
    my @late = grep { $_->{started} > $sim->{time} - 1000 && $_->{vmid} != 205 }
        @{ $sim->{migrations} };
    ok(@late, 'the new plan moved guests');
    ok(!grep({ $_->{to} eq 'pve3' } @late), 'but none to the lost node');
};

subtest 'steps are checked against fresh state before they start' => sub {
    my ($sim, $env) = start();
    # 203 gets locked by a backup while wave 1 runs, 204 is moved away by someone else,
    # 205 is already where the plan wants it
    $sim->at(3, sub {
        $_[0]->{guests}->{203}->{config}->{lock} = 'backup';
        $_[0]->{guests}->{204}->{node} = 'pve2';
        $_[0]->{guests}->{205}->{node} = 'pve3';
    });
    my $plan = make_plan([1, 201, 'pve1', 'pve2'], [2, 203, 'pve1', 'pve3'],
        [2, 204, 'pve1', 'pve3'], [2, 205, 'pve1', 'pve3']);
    my ($rec, $err) = run_plan($env, $plan);
    my $log = log_of($env);

    like($log, qr/vm 203 pve1 -> pve3 \.\.\. SKIPPED: guest is locked \(backup\)/, 'locked guest skipped');
    like($log, qr/vm 204 pve1 -> pve3 \.\.\. SKIPPED: guest is on pve2, not on pve1/, 'moved guest skipped');
    like($log, qr/vm 205 pve1 -> pve3 \.\.\. OK, guest is already on pve3/, 'already there: OK');
    is(result_of($rec, 203), 'skipped', 'skip recorded');
    like($err, qr/2 skipped/, 'skips make the run incomplete');
    is(scalar(@{ $sim->{migrations} }), 1, 'only the valid migration was started');
};

subtest 'engine check: a target that no longer fits is skipped' => sub {
    my ($sim, $env) = start();
    $sim->{nodes}->{pve3}->{mem} = 127 * 2**30; # someone filled pve3
    my ($rec, $err) = run_plan($env, make_plan([1, 205, 'pve1', 'pve3']));
    like(log_of($env), qr/vm 205 pve1 -> pve3 \.\.\. SKIPPED: target pve3 no longer fits: /,
        'engine place check rejects the target');
    is(scalar(@{ $sim->{migrations} }), 0, 'not started');
};

subtest 'parallel limits' => sub {
    my ($sim, $env) = start();
    my $plan = make_plan([1, 201, 'pve1', 'pve2'], [1, 203, 'pve1', 'pve3'],
        [1, 202, 'pve2', 'pve3']);
    my ($rec, $err) = run_plan($env, $plan, 'max-parallel' => 1);
    is($err, '', 'run succeeds');
    my @starts = map { $_->{started} } @{ $sim->{migrations} };
    ok($starts[1] - $starts[0] >= 10 && $starts[2] - $starts[1] >= 10,
        'max-parallel 1: one migration at a time');

    ($sim, $env) = start();
    ($rec, $err) = run_plan($env, $plan, 'max-parallel-per-node' => 1);
    my %start = map { $_->{vmid} => $_->{started} } @{ $sim->{migrations} };
    ok($start{203} - $start{201} >= 10, 'per node 1: the two moves off pve1 are serialised');
    ok($start{202} >= $start{203} + 10, 'per node 1: pve3 busy until 203 is done');

    ($sim, $env) = start();
    ($rec, $err) = run_plan($env, $plan);
    %start = map { $_->{vmid} => $_->{started} } @{ $sim->{migrations} };
    is($start{201}, $start{203}, 'default limits: the wave starts together');
};

subtest 'HA-managed guests' => sub {
    my ($sim, $env) = start();
    $sim->{behaviour}->{209} = { duration => 25 };
    my ($rec, $err) = run_plan($env, make_plan([1, 209, 'pve1', 'pve2']));
    is($err, '', 'HA migration succeeds');
    is($sim->{ha}->{manager_status}->{service_status}->{'vm:209'}->{node}, 'pve2',
        'HA manager reports it on the target');
    my ($m) = @{ $rec->{migrations} };
    ok($m->{seconds} >= 25, "waited for the HA manager ($m->{seconds} s)");

    ($sim, $env) = start();
    $sim->{behaviour}->{209} = { ha_refuse => 1 };
    ($rec, $err) = run_plan($env, make_plan([1, 209, 'pve1', 'pve2']));
    like(log_of($env), qr/vm 209 pve1 -> pve2 \(HA\) \.\.\. FAILED \(\d+ s\): the HA manager did not start the migration/,
        'refused by the CRM: failed');

    ($sim, $env) = start();
    $sim->{behaviour}->{209} = { fail => 1 };
    ($rec, $err) = run_plan($env, make_plan([1, 209, 'pve1', 'pve2']));
    like(log_of($env), qr/vm 209 .*FAILED .*the HA manager did not complete the migration/,
        'back on the source after migrate: failed');

    ($sim, $env) = start();
    $sim->{behaviour}->{210} = { hang => 1 };
    ($rec, $err) = run_plan($env, make_plan([1, 210, 'pve1', 'pve2']), 'migration-timeout' => 120);
    like(log_of($env), qr/vm 210 .*TIMEOUT \(120 s\): the HA manager has not finished/,
        'HA migration that never ends: timeout');

    ($sim, $env) = start();
    delete $sim->{ha}->{resources}->{ids}->{'vm:210'};
    ($rec, $err) = run_plan($env, make_plan([1, 210, 'pve1', 'pve2', ha => 1]));
    is($err, '', 'no longer HA-managed: migrated directly');
    is(scalar(@{ $sim->{crm_log} }), 0, 'no CRM command');
};

subtest 'one run at a time' => sub {
    my ($sim, $env, $cfs) = start();
    my $upid = 'UPID:pve1:00001234:00005678:6553F100:balance::root@pam:';
    $sim->register_task($upid, running => 1, type => 'balance');
    mkdir "$cfs/balancer";
    PVE::Tools::file_set_contents("$cfs/balancer/active.json", encode_json({
        id => $upid, upid => $upid, node => 'pve1', user => 'root@pam', kind => 'balance',
        started => $sim->{time} - 100, heartbeat => $sim->{time} - 10,
    }));

    my ($rec, $err) = run_plan($env, make_plan([1, 201, 'pve1', 'pve2']));
    like($err, qr/^another balance run is in progress \(\Q$upid\E, balance started by root\@pam on pve1\)/,
        'second run refused');
    is(scalar(@{ $sim->{migrations} }), 0, 'nothing migrated');
    ok(-e "$cfs/balancer/active.json", 'the other lease is untouched');
    is_deeply(PVE::Balancer::Lease::active($env)->{upid}, $upid, 'active_run reports it');

    # the holder's task ended without cleaning up: the lease is stale
    $sim->finish_task($upid, 'OK');
    ($rec, $err) = run_plan($env, make_plan([1, 201, 'pve1', 'pve2']));
    is($err, '', 'lease of a finished task is taken over');

    # a lease of another node without heartbeat for too long is stale too
    my $other = 'UPID:pve2:00001234:00005678:6553F100:balance::root@pam:';
    PVE::Tools::file_set_contents("$cfs/balancer/active.json", encode_json({
        id => $other, upid => $other, node => 'pve2', user => 'root@pam', kind => 'balance',
        started => $sim->{time} - 1000, heartbeat => $sim->{time} - 400,
    }));
    ($rec, $err) = run_plan($env, make_plan([1, 203, 'pve1', 'pve2']));
    is($err, '', 'stale lease of another node is taken over');

    PVE::Tools::file_set_contents("$cfs/balancer/active.json", encode_json({
        id => $other, upid => $other, node => 'pve2', user => 'root@pam', kind => 'balance',
        started => $sim->{time} - 100, heartbeat => $sim->{time} - 30,
    }));
    ($rec, $err) = run_plan($env, make_plan([1, 204, 'pve1', 'pve2']));
    like($err, qr/another balance run is in progress/, 'live lease of another node refuses');
};

subtest 'the lease is renewed while a long run goes on' => sub {
    my ($sim, $env, $cfs) = start();
    $sim->{behaviour}->{201} = { duration => 400 };
    my $seen;
    $sim->at(350, sub {
        $seen = decode_json(PVE::Tools::file_get_contents("$cfs/balancer/active.json"));
    });
    my $t0 = $sim->{time};
    my ($rec, $err) = run_plan($env, make_plan([1, 201, 'pve1', 'pve2']));
    is($err, '', 'long migration completes');
    ok($seen && $seen->{heartbeat} >= $t0 + 290, 'heartbeat refreshed during the run');
};

subtest 'on-failure replan' => sub {
    my ($sim, $env) = start();
    $sim->{behaviour}->{205} = { fail => 'migration problems' };
    my $plan = make_plan([1, 205, 'pve1', 'pve3'], [2, 203, 'pve1', 'pve2']);
    my ($rec, $err) = run_plan($env, $plan, 'on-failure' => 'replan', kind => 'balance',
        args => { 'max-migrations' => 4 });
    my $log = log_of($env);

    like($log, qr/^re-plan 1\/2 from the current state \(leaving out 205\): \d+ migration\(s\)$/m,
        're-planned once');
    is($rec->{replans}, 1, 'recorded');
    is(scalar(grep { $_->{vmid} == 205 } @{ $sim->{migrations} }), 1, 'failed guest not retried');
    ok(!grep({ $_->{number} == 2 && $_->{vmid} == 203 && $_->{wave} == 2 } @{ $rec->{migrations} }),
        'the rest of the old plan was replaced');
    cmp_ok($rec->{moved}, '>=', 1, 'the new plan moved guests');
    cmp_ok(scalar(@{ $rec->{migrations} }), '<=', 5, 'budget: max-migrations counts the whole run');
    like($err, qr/1 failed/, 'the failure is still reported');
};

subtest 'migrations the user may not do are skipped' => sub {
    my ($sim, $env) = start();
    my $plan = make_plan([1, 201, 'pve1', 'pve2'], [1, 203, 'pve1', 'pve3']);
    my ($rec, $err) = run_plan($env, $plan, may_migrate => sub { $_[0] != 203 });
    like(log_of($env), qr/vm 203 pve1 -> pve3 \.\.\. SKIPPED: no VM.Migrate permission on \/vms\/203/,
        'skipped');
    is(result_of($rec, 201), 'ok', 'the permitted one ran');
};

subtest 'CLI environment (pvesh): every guest through the API' => sub {
    my ($sim, $env) = start(type => 'cli');
    my ($rec, $err) = run_plan($env, make_plan([1, 201, 'pve1', 'pve2']));
    is($err, '', 'run succeeds');
    is_deeply([map { $_->[1] } grep { $_->[0] eq 'POST' } @PVE::APIClient::LWP::requests],
        ['/nodes/pve1/qemu/201/migrate'], 'local guest also through the API client');
    ok(grep({ $_->[0] eq 'GET' && $_->[1] =~ m!^/nodes/pve1/tasks/UPID:pve1:.*/status$! }
        @PVE::APIClient::LWP::requests), 'task status polled through the API');
};

subtest 'container restart migration and an empty plan' => sub {
    my ($sim, $env) = start();
    my ($rec, $err) = run_plan($env, make_plan([1, 208, 'pve2', 'pve3', type => 'lxc',
        mode => 'restart']));
    is($err, '', 'container migrated');
    my ($m) = grep { $_->{vmid} == 208 } @{ $sim->{migrations} };
    is($m->{params}->{restart}, 1, 'restart => 1');
    is($m->{params}->{timeout}, 180, 'shutdown timeout');
    like(log_of($env), qr/^migration 1\/1: ct 208 pve2 -> pve3 \.\.\. OK/m, 'log says ct');

    ($sim, $env) = start();
    ($rec, $err) = run_plan($env, make_plan());
    is($err, '', 'empty plan: nothing to do is success');
    is($rec->{status}, 'ok', 'recorded as ok');
};

subtest 'history keeps the last N runs' => sub {
    my ($sim, $env) = start();
    for my $i (1 .. 4) {
        run_plan($env, make_plan(),
            cfg => PVE::Balancer::Config::parse_config('balancer.cfg', "rrd-window: 0\nhistory: 3\n"));
        $sim->advance(1);
    }
    my $runs = PVE::Balancer::History::read_runs($env);
    is(scalar(@$runs), 3, 'three kept');
    ok($runs->[0]->{started} > $runs->[1]->{started}, 'newest first');
};

done_testing();
