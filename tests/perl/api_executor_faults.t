#!/usr/bin/perl
# The executor when its task is stopped or dies, with the real process model: the run is a
# forked worker (PVE::RESTEnvironment double), stopping it sends SIGTERM (pvedaemon sends
# SIGKILL 5 s later), a crash is SIGKILL. What survives is what a real node keeps: the files
# in /etc/pve (lease, runs.json) and the cluster's state (the simulation).
#
#   - cancel mid-wave: no new migration starts, the running ones are waited for and recorded,
#     the lease is held until they end, the record counts every step, no stale messages;
#   - cancel, then SIGKILL before the migrations end: the lease keeps naming them, a new run
#     right after is refused, a dry run counts them on their targets, and once they end the
#     next status call settles the record;
#   - a worker crash mid-wave: finished migrations are in the history, the next run settles
#     the crashed one against the cluster's state and then runs.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use PVEBalancerTest::Setup;
use PVEBalancerTest::API;

use JSON;
use Test::More;

use PVE::Balancer::APIRegister;
use PVE::Balancer::Config;
use PVE::Balancer::Executor;
use PVE::Balancer::History;
use PVE::Balancer::Lease;
use PVE::Balancer::Planner;
use PVE::RPCEnvironment;

my $cfg = PVE::Balancer::Config::parse_config('balancer.cfg', "rrd-window: 0\n");

sub make_plan {
    my (@moves) = @_;

    my $step = 0;
    return {
        kind => 'balance',
        migrations => [map {
            my ($wave, $vmid, $from, $to) = @$_;
            { step => ++$step, wave => $wave, vmid => $vmid, type => 'qemu', from => $from,
                to => $to, mode => 'online', cost => { bytes => 2**30, seconds => 10 } }
        } @moves],
        metrics => { before => { imbalance => 0.3 }, after => { imbalance => 0.2 } },
        nodes => [],
        digest => 'f' x 40,
    };
}

# Starts the plan as a worker task, as the API does; returns its UPID at once.
sub start_worker {
    my ($env, $plan) = @_;

    my $rpcenv = PVE::RPCEnvironment::get();
    return $rpcenv->fork_worker('balance', '', 'root@pam', sub {
        my ($upid) = @_;
        PVE::Balancer::Executor::run($env, $plan, cfg => $cfg, upid => $upid,
            user => 'root@pam');
    });
}

sub finish {
    my ($upid) = @_;
    my $rpcenv = PVE::RPCEnvironment::get();
    $rpcenv->wait_worker($upid);
    return $rpcenv->task_log($upid);
}

sub entry {
    my ($run, $vmid) = @_;
    my ($m) = grep { $_->{vmid} == $vmid } @{ $run->{migrations} };
    return $m // {};
}

my $plan = make_plan([1, 201, 'pve1', 'pve2'], [1, 203, 'pve1', 'pve3'],
    [2, 204, 'pve1', 'pve3']);

subtest 'cancel mid-wave: running migrations are waited for and recorded' => sub {
    my ($sim, $env, $cfs) = PVEBalancerTest::Setup::cluster('executor.json');
    $sim->{behaviour}->{201} = { duration => 30 };
    $sim->{behaviour}->{203} = { duration => 60 };
    $sim->at(15, sub { kill('TERM', $$) }); # the task is stopped
    # runs in the worker: what it sees travels back with the cluster state
    $sim->at(40, sub { $_[0]->{seen_lease} = PVE::Balancer::Lease::read($env) });

    my $upid = start_worker($env, $plan);
    my $log = finish($upid);

    like($log, qr/^WARN: received interrupt: starting no further migration; waiting for 2 running migration\(s\) to end/m,
        'the cancel is logged');
    like($log, qr/^migration 1\/3: vm 201 pve1 -> pve2 \.\.\. OK \(30 s\)$/m, 'running migration 1 finished');
    like($log, qr/^migration 2\/3: vm 203 pve1 -> pve3 \.\.\. OK \(60 s\)$/m, 'running migration 2 finished');
    like($log, qr/^migration 3\/3: vm 204 pve1 -> pve3 \.\.\. NOT STARTED: run cancelled$/m,
        'the next wave is not started');
    like($log, qr/^summary: 2 of 3 migration\(s\) done, 0 failed, 0 skipped, 1 not started/m,
        'the summary counts every step');
    unlike($log, qr/summary failed|received interrupt\n.*received interrupt/s, 'no stale error message');
    like($log, qr/^TASK ERROR: received interrupt: run cancelled, 2 of 3 migration\(s\) done, 1 not started$/m,
        'the task ends as cancelled');

    my $lease_seen = $sim->{seen_lease};
    ok($lease_seen && @{ $lease_seen->{'in-flight'} } == 1 && $lease_seen->{'in-flight'}->[0]->{vmid} == 203,
        'while it waited, the lease was held and named the migration still running');
    ok(!-e "$cfs/balancer/active.json", 'lease released once they ended');

    my $run = PVE::Balancer::History::read_runs($env)->[0];
    is($run->{status}, 'cancelled', 'recorded as cancelled');
    is_deeply([map { $run->{$_} } qw(planned moved failed skipped not-started running)],
        [3, 2, 0, 0, 1, 0], 'counts: planned 3, moved 2, not started 1');
    is($sim->{guests}->{201}->{node}, 'pve2', 'vm 201 moved');
    is($sim->{guests}->{204}->{node}, 'pve1', 'vm 204 stayed');
};

subtest 'cancel, then killed: the lease waits for the migrations, a new run right after is refused' => sub {
    my ($sim, $env, $cfs) = PVEBalancerTest::Setup::cluster('executor.json');
    $sim->{behaviour}->{201} = { duration => 30 };
    $sim->{behaviour}->{203} = { duration => 60 };
    $sim->at(15, sub { kill('TERM', $$) });
    $sim->at(20, sub { $_[0]->crash() }); # pvedaemon's SIGKILL 5 s after SIGTERM

    my $upid = start_worker($env, $plan);
    my $log = finish($upid);
    unlike($log, qr/^TASK/m, 'the worker was killed before it could finish');
    ok(!$sim->{tasks}->{$upid}->{running}, 'its task has ended');

    my $run = PVE::Balancer::History::read_runs($env)->[0];
    is($run->{status}, 'cancelling', 'the record says it was being cancelled');
    is(entry($run, 201)->{result}, 'running', 'migration 1 recorded as running');
    ok(entry($run, 201)->{upid}, '... with its task');
    is(entry($run, 204)->{result}, 'not-started', 'migration 3 recorded as not started');

    my $active = PVE::Balancer::Lease::active($env);
    ok($active, 'the lease is still live');
    is_deeply([map { $_->{vmid} } @{ $active->{waiting} }], [201, 203],
        '... held by the migrations still running');

    # a new run right after the cancel
    my $rec = eval {
        PVE::Balancer::Executor::run($env, make_plan([1, 205, 'pve1', 'pve3']), cfg => $cfg);
    };
    like($@, qr/^another balance run is in progress \(\Q$upid\E, balance started by root\@pam on pve1; its task ended, waiting for 2 migration\(s\) it started: 201 pve1 -> pve2, 203 pve1 -> pve3\)/,
        'a new run is refused while they run');
    is(scalar(grep { $_->{vmid} == 205 } @{ $sim->{migrations} }), 0, 'nothing started');

    # a plan computed now counts them on their targets
    my $snapshot = PVE::Balancer::Planner::collect($env, $cfg, rrd => 0);
    my $g = PVE::Balancer::State::guest_index($snapshot);
    is($g->{201}->{node}, 'pve2', 'dry run: an in-flight guest counts on its target');
    is($g->{201}->{lock}, 'migrate', '... and is not planned again');
    is(scalar(@{ $snapshot->{'x-pve-balancer'}->{'in-flight'} }), 2, '... listed as in flight');

    my $status = PVEBalancerTest::API::call('GET', '/cluster/balance', {});
    ok($status->{active} && $status->{active}->{waiting}, 'status shows the lease waiting');
    is($status->{runs}->[0]->{status}, 'cancelling', '... and the run being cancelled');

    # the migrations end; the next status call settles the record
    $sim->advance(60);
    $status = PVEBalancerTest::API::call('GET', '/cluster/balance', {});
    ok(!$status->{active}, 'lease gone once the migrations ended');
    $run = PVE::Balancer::History::read_runs($env)->[0];
    is($run->{status}, 'cancelled', 'the run is settled as cancelled');
    is(entry($run, 201)->{result}, 'ok', 'migration 1: ok (it arrived)');
    is(entry($run, 203)->{result}, 'ok', 'migration 2: ok');
    is_deeply([map { $run->{$_} } qw(planned moved not-started running)], [3, 2, 1, 0],
        'counts add up');
    ok(!-e "$cfs/balancer/active.json", 'stale lease removed');

    $rec = eval {
        PVE::Balancer::Executor::run($env, make_plan([1, 205, 'pve1', 'pve3']), cfg => $cfg);
    };
    is($@, '', 'now a new run goes ahead');
};

subtest 'worker crash mid-wave: history keeps finished migrations, the next run settles it' => sub {
    my ($sim, $env, $cfs) = PVEBalancerTest::Setup::cluster('executor.json');
    $sim->{behaviour}->{201} = { duration => 10 };
    $sim->{behaviour}->{203} = { duration => 60, fail => 'migration aborted' };
    $sim->at(15, sub { $_[0]->crash() });

    my $upid = start_worker($env, $plan);
    finish($upid);

    my $run = PVE::Balancer::History::read_runs($env)->[0];
    is($run->{status}, 'running', 'the record was left running');
    is(entry($run, 201)->{result}, 'ok', 'the migration that finished before the crash is recorded');
    is($run->{moved}, 1, '... and counted');
    is(entry($run, 203)->{result}, 'running', 'the one in flight is recorded as running');

    # a new run while the orphan still runs is refused; once it ended, it goes ahead
    my $rec = eval {
        PVE::Balancer::Executor::run($env, make_plan([1, 205, 'pve1', 'pve3']), cfg => $cfg);
    };
    like($@, qr/another balance run is in progress .*waiting for 1 migration/, 'refused while it runs');
    $sim->advance(60);
    $rec = eval {
        PVE::Balancer::Executor::run($env, make_plan([1, 205, 'pve1', 'pve3']), cfg => $cfg);
    };
    is($@, '', 'the next run starts');
    my ($old) = grep { $_->{id} eq $upid } @{ PVE::Balancer::History::read_runs($env) };
    is($old->{status}, 'interrupted', 'the crashed run is settled as interrupted');
    is(entry($old, 203)->{result}, 'failed', 'its orphan failed (the guest stayed)');
    like(entry($old, 203)->{error}, qr/task ended: migration aborted; the guest is on pve1/,
        '... as the cluster says');
    is(entry($old, 204)->{result}, 'not-started', 'the step it never reached');
    is_deeply([map { $old->{$_} } qw(planned moved failed not-started running)], [3, 1, 1, 1, 0],
        'counts add up');
};

subtest 'a crash while a migration runs on another node: reconciled with the guest location' => sub {
    my ($sim, $env, $cfs) = PVEBalancerTest::Setup::cluster('executor.json');
    $sim->{behaviour}->{202} = { duration => 40 };
    $sim->at(5, sub { $_[0]->crash() });
    my $upid = start_worker($env, make_plan([1, 202, 'pve2', 'pve3']));
    finish($upid);
    ok(PVE::Balancer::Lease::active($env), 'remote migration in flight keeps the lease');
    $sim->advance(60);
    is(PVE::Balancer::Recovery::reconcile($env), 1, 'reconcile settles one run');
    my $run = PVE::Balancer::History::read_runs($env)->[0];
    is(entry($run, 202)->{result}, 'ok', 'the guest arrived: ok');
    is($run->{status}, 'interrupted', 'run interrupted');
};

done_testing();
