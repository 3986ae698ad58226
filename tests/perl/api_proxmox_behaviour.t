#!/usr/bin/perl
# What a real Proxmox VE node does that kinder doubles hid (issue: "works on a real node"):
#
#   - JSON::XS: no snapshot value reaches the engine as a string, answers keep integers
#     integers, and apply performs every planned migration (also with HA guests left out);
#   - state collection: replication jobs, resource mappings, the HA disarm state, cdrom and
#     passthrough config keys, in the agreed snapshot shape;
#   - qemu-server and pve-container refusals (replication target, storage, local devices,
#     mapped devices, local ISO, container live migration) end up as failed steps with
#     upstream's message;
#   - HA disarmed: 'freeze' moves no HA guest and queues no CRM command, 'ignore' migrates them
#     like unmanaged guests; an HA service in error state is not asked to move;
#   - credentials: get_credentials dies without $noerr; without a request the executor uses
#     root's service ticket, other users without credentials get a clear error.

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
use PVE::Balancer::Env::PVE2;
use PVE::Balancer::Executor;
use PVE::Balancer::History;
use PVE::Balancer::Planner;
use PVE::Balancer::State;
use PVE::API2::LXC;
use PVE::API2::Qemu;
use PVE::RPCEnvironment;

my $cfg = PVE::Balancer::Config::parse_config('balancer.cfg', "rrd-window: 0\n");
my $xs = JSON::XS->new->canonical;

sub call {
    return PVEBalancerTest::API::call(@_);
}

sub run_plan {
    my ($env, @moves) = @_;

    my $step = 0;
    my $plan = {
        kind => 'balance',
        migrations => [map {
            my ($vmid, $from, $to, $type) = @$_;
            { step => ++$step, wave => 1, vmid => $vmid, type => $type // 'qemu',
                from => $from, to => $to, mode => 'online' }
        } @moves],
        metrics => {},
        digest => 'f' x 40,
    };
    $env->plug->{log} = [];
    my $rec = eval { PVE::Balancer::Executor::run($env, $plan, cfg => $cfg) };
    my $err = $@;
    $rec //= PVE::Balancer::History::read_runs($env)->[0];
    return ($rec, $err, join("\n", @{ $env->plug->{log} }) . "\n");
}

sub result_of {
    my ($rec, $vmid) = @_;
    my ($m) = grep { $_->{vmid} == $vmid } @{ $rec->{migrations} };
    return $m ? ($m->{result}, $m->{error} // '') : ('none', '');
}

# Every snapshot handed to the engine, encoded the way the XS glue encodes it.
my @sent;
{
    no warnings 'redefine';
    for my $cmd (qw(score plan evacuate failover capacity place)) {
        my $orig = PVE::Balancer::Native->can($cmd);
        no strict 'refs';
        *{"PVE::Balancer::Native::$cmd"} = sub {
            my ($snapshot, @args) = @_;
            push @sent, $xs->encode($snapshot) if ref($snapshot);
            return $orig->($snapshot, @args);
        };
    }
}

my $numeric = join('|', qw(vmid maxcpu cpu maxmem mem maxdisk disk uptime memhost template
    netin netout diskread diskwrite step wave));

subtest 'JSON::XS: numbers stay numbers, apply performs every planned migration' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    is(JSON->backend, 'JSON::Backend::XS', 'JSON.pm uses JSON::XS');
    # HA guests left to the HA manager: they are tagged in the snapshot (mark_ignored)
    $sim->{datacenter}->{crs} = { ha => 'static', 'ha-auto-rebalance' => 1 };
    @sent = ();

    my $plan = call('POST', '/cluster/balance', {});
    ok(@{ $plan->{migrations} } >= 2, 'a plan with migrations');
    like($plan->{notes}->[-1] // '', qr/HA-managed guest\(s\) left in place/, 'HA guests left out');
    my $text = $xs->encode($plan);
    unlike($text, qr/"(?:$numeric)":"/, 'the dry-run answer has no number as a string');

    call('GET', '/cluster/balance', {});
    call('GET', '/cluster/balance/failover', { 'failed-node' => 'pve1' });
    call('GET', '/cluster/balance/place', { vmid => 201 });
    ok(@sent >= 4, 'snapshots were sent to the engine');
    is(scalar(grep { m/"(?:$numeric)":"/ } @sent), 0, 'no snapshot carried a number as a string');

    my $upid = call('POST', '/cluster/balance', { apply => 1, digest => $plan->{digest} });
    my $log = PVE::RPCEnvironment::get()->task_log($upid);
    my $n = scalar(@{ $plan->{migrations} });
    like($log, qr/^summary: $n of $n migration\(s\) done, 0 failed, 0 skipped, 0 not started/m,
        "apply performed all $n planned migrations");
    unlike($log, qr/engine check failed/, 'no step refused by the engine');
    is($sim->{guests}->{ $_->{vmid} }->{node}, $_->{to}, "vm $_->{vmid} is on $_->{to}")
        for @{ $plan->{migrations} };
    my $raw = PVE::Tools::file_get_contents(
        "$PVE::Balancer::Env::default_args->{cfs_root}/balancer/runs.json");
    unlike($raw, qr/"(?:$numeric|number|seconds)":"/, 'the run record keeps numbers numbers');
};

subtest 'state collection: replication, mappings, disarm, devices' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    $sim->{replication} = [
        { id => '201-0', target => 'pve2' },
        { id => '201-1', target => 'pve3', disable => 1 },
        { id => '203-0', target => 'pve3' },
    ];
    $sim->{mappings} = {
        pci => { gpu => { map => ['node=pve1,path=0000:01:00.0,id=10de:2230',
            'node=pve3,path=0000:02:00.0,id=10de:2230'], 'live-migration-capable' => 1 } },
        usb => { key => { map => ['node=pve2,id=0529:0001'] } },
    };
    $sim->{ha}->{manager_status}->{disarm} = { mode => 'freeze', state => 'disarmed' };
    $sim->{guests}->{204}->{config}->{ide2} = 'local:iso/debian.iso,media=cdrom';
    $sim->{guests}->{204}->{config}->{hostpci0} = 'mapping=gpu,pcie=1';
    $sim->{guests}->{204}->{config}->{usb0} = 'mapping=key';

    my $snap = PVE::Balancer::Planner::collect($env, $cfg, rrd => 0);
    is_deeply($snap->{guests}->{201}->{replication},
        [{ id => '201-0', target => 'pve2' }, { id => '201-1', target => 'pve3', disable => 1 }],
        'replication jobs of a guest (disabled ones flagged: qemu-server counts them too)');
    is_deeply($snap->{guests}->{203}->{replication}, [{ id => '203-0', target => 'pve3' }],
        'one job');
    ok(!exists($snap->{guests}->{202}->{replication}), 'no jobs: no key');
    is_deeply($snap->{mappings}, {
        pci => { gpu => { nodes => ['pve1', 'pve3'], 'live-migration-capable' => 1 } },
        usb => { key => { nodes => ['pve2'] } },
    }, 'mappings with the nodes that have the device');
    is_deeply($snap->{ha}->{'manager-status'}->{disarm}, { mode => 'freeze', state => 'disarmed' },
        'manager status carries disarm');
    is_deeply(
        { map { $_ => $snap->{guests}->{204}->{config}->{$_} } qw(ide2 hostpci0 usb0) },
        { ide2 => 'local:iso/debian.iso,media=cdrom', hostpci0 => 'mapping=gpu,pcie=1',
            usb0 => 'mapping=key' },
        'cdrom, hostpci and usb keys as written',
    );
    ok(!grep({ m/"(?:vmid|live-migration-capable)":"/ } $xs->encode($snap)), 'typed');
};

subtest 'qemu-server and pve-container refuse, the step fails with their message' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    $sim->{replication} = [{ id => '201-0', target => 'pve3', disable => 1 }];
    # the executor's re-check with the engine (constraint 'replication') stops it first ...
    my ($rec, $err, $log) = run_plan($env, [201, 'pve1', 'pve2']);
    my ($res, $why) = result_of($rec, 201);
    is($res, 'skipped', 'replicated running VM to a node that is not its target: not started');
    like($why, qr/pve2 is not a replication target/, "... with the engine's reason");
    # ... which is what qemu-server would refuse
    eval { PVE::API2::Qemu->migrate_vm({ node => 'pve1', vmid => 201, target => 'pve2',
        online => 1 }) };
    like($@, qr/Cannot live-migrate replicated VM to node 'pve2' - not a replication target/,
        "qemu-server's refusal");

    $sim->{guests}->{203}->{config}->{hostpci0} = '0000:01:00.0';
    ($rec, $err, $log) = run_plan($env, [203, 'pve1', 'pve3']);
    ($res, $why) = result_of($rec, 203);
    is($res, 'failed', 'passthrough device');
    like($why, qr/can't migrate VM which uses local devices: hostpci0/, '... refused by the task');

    $sim->{guests}->{204}->{config}->{ide2} = 'local:iso/debian.iso,media=cdrom';
    ($rec, $err, $log) = run_plan($env, [204, 'pve1', 'pve3']);
    ($res, $why) = result_of($rec, 204);
    is($res, 'failed', 'local ISO as CD-ROM');
    like($why, qr/can't migrate VM - check log/, '... refused by the volume scan');

    $sim->{mappings} = { pci => { gpu => { map => ['node=pve1,id=10de:2230'] } } };
    $sim->{guests}->{205}->{config}->{hostpci0} = 'mapping=gpu';
    ($rec, $err, $log) = run_plan($env, [205, 'pve1', 'pve3']);
    ($res, $why) = result_of($rec, 205);
    is($res, 'skipped', 'mapped device missing on the target: not started');
    like($why, qr/pve3 has no pci mapping 'gpu' for hostpci0/, "... with the engine's reason");
    # qemu-server refuses it in the migration task (QemuMigrate's prepare)
    like(
        PVEBalancerTest::SimCluster::QemuMigrate::qemu_task_refusal(
            $sim, $sim->{guests}->{205}, 'pve3', 1),
        qr/can't migrate to 'pve3': missing mapped devices hostpci0/, "qemu-server's refusal");

    # the API handler itself (the engine does not plan this one)
    $sim->{guests}->{201}->{config}->{scsi1} = 'local-zfs:vm-201-disk-1,size=4G';
    $sim->{storage}->{ids}->{'local-zfs'}->{nodes} = { pve1 => 1 };
    eval { PVE::API2::Qemu->migrate_vm({ node => 'pve1', vmid => 201, target => 'pve3',
        online => 1, force => 1 }) };
    like($@, qr/^storage 'local-zfs' is not available on node 'pve3'/,
        'storage not on the target: refused by the API (check_storage_availability)');
    eval { PVE::API2::Qemu->migrate_vm({ node => 'pve1', vmid => 204, target => 'pve3' }) };
    like($@, qr/^can't migrate running VM without --online/, 'running VM without online');
    eval {
        local $sim->{nodename} = 'pve2'; # the handler runs on the node that owns the guest
        PVE::API2::LXC->migrate_vm({ node => 'pve2', vmid => 208, target => 'pve3' });
    };
    like($@, qr/^can't migrate running container without --online or --restart/,
        'running container without online or restart');

    # containers: restart migration only, and not to the target of their replication
    $sim->{replication} = [{ id => '208-0', target => 'pve3' }];
    ($rec, $err, $log) = run_plan($env, [208, 'pve2', 'pve3', 'lxc']);
    ($res, $why) = result_of($rec, 208);
    like($why, qr/can't live migrate VM with replicated volumes/, 'running replicated container');
    my ($m) = grep { $_->{vmid} == 208 } @{ $sim->{migrations} };
    ok($m->{params}->{restart} && !$m->{params}->{online}, 'the executor asked for restart, never online');
    is($sim->{guests}->{208}->{node}, 'pve2', 'nothing moved');
};

subtest 'HA disarmed' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    $sim->{ha}->{manager_status}->{disarm} = { mode => 'freeze', state => 'disarmed' };
    my ($rec, $err, $log) = run_plan($env, [209, 'pve1', 'pve2']);
    like($log, qr/vm 209 pve1 -> pve2 \.\.\. SKIPPED: HA is disarmed \(resource mode freeze, disarmed\)/,
        'freeze: the HA guest is not moved');
    is_deeply($sim->{crm_log}, [], 'no CRM command queued (it would never be processed)');
    ok(!grep({ $_->{vmid} == 209 } @{ $sim->{migrations} }), 'and no direct migration');

    # the guard of the environment itself, as the HA API checks before queueing
    eval { $env->ha_migrate('vm:209', 'pve2') };
    like($@, qr/^HA is disarmed \(resource mode freeze\): the HA manager would not process/,
        'ha_migrate refuses while disarmed');

    $sim->{ha}->{manager_status}->{disarm} = { mode => 'ignore', state => 'disarmed' };
    ($rec, $err, $log) = run_plan($env, [209, 'pve1', 'pve2']);
    is($err, '', 'ignore: migrated');
    is_deeply($sim->{crm_log}, [], 'not through the CRM');
    my ($m) = grep { $_->{vmid} == 209 } @{ $sim->{migrations} };
    ok($m, 'but directly, like an unmanaged guest (vm_is_ha_managed is false)');
    unlike($log, qr/\(HA\)/, 'logged as a plain migration');

    delete $sim->{ha}->{manager_status}->{disarm};
    $sim->{ha}->{manager_status}->{service_status}->{'vm:210'}->{state} = 'error';
    ($rec, $err, $log) = run_plan($env, [210, 'pve1', 'pve2']);
    like($log, qr/vm 210 pve1 -> pve2 \.\.\. SKIPPED: HA service vm:210 is in error state/,
        'an HA service in error state is not asked to move');
    eval { $env->ha_migrate('vm:210', 'pve2') };
    like($@, qr/^service 'vm:210' in error state, must be disabled and fixed first/,
        "ha_migrate: the HA API's check_service_state");
    eval { $env->ha_migrate('vm:201', 'pve2') };
    like($@, qr/^resource 'vm:201' is not HA managed/, "ha_migrate: service_is_ha_managed");
};

subtest 'credentials' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    my $rpcenv = PVE::RPCEnvironment::get();
    $rpcenv->set_credentials(undef);
    eval { $rpcenv->get_credentials() };
    like($@, qr/^credentials not set/, 'get_credentials dies without $noerr, like the real one');

    # root without exposed credentials (a Perl caller): the service ticket
    my ($rec, $err) = run_plan($env, [202, 'pve2', 'pve3']);
    is($err, '', 'root: remote migration with the service ticket');
    my ($post) = grep { $_->[0] eq 'POST' } @{ $sim->{api_requests} };
    is($post->[3], 'root@pam', 'as root@pam');

    # another user without credentials: a clear error, no half-done run
    $rpcenv->set_user('alice@pve');
    ($rec, $err) = run_plan($env, [206, 'pve2', 'pve3']);
    my ($res, $why) = result_of($rec, 206);
    like($why, qr/no credentials to start migrations on other nodes as alice\@pve/,
        'other users need the request\'s credentials');

    # no RPC environment at all (pve-balancerd): root's service ticket
    {
        no warnings 'redefine';
        local *PVE::RPCEnvironment::get = sub { return undef };
        my $plug = PVE::Balancer::Env::PVE2->new(cfs_root => '/nonexistent');
        my ($user, $ticket) = $plug->credentials();
        is($user, 'root@pam', 'no request: root@pam');
        like($ticket, qr/^PVE:root\@pam:/, '... with a ticket signed for root');
    }
    $rpcenv->set_user('root@pam');
};

subtest 'a whole cycle without a request (what pve-balancerd will do)' => sub {
    my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');
    no warnings 'redefine';
    local *PVE::RPCEnvironment::get = sub { return undef };
    local *PVE::RESTEnvironment::get = sub { return undef };

    # collect -> decide -> plan -> execute -> record, on the Env façade alone
    my $conf = PVE::Balancer::Config::load($env);
    my ($plan) = PVE::Balancer::Planner::compute($env, $conf, 'balance', { 'max-migrations' => 3 });
    ok(@{ $plan->{migrations} }, 'a plan without an RPC environment');
    my $rec = eval { PVE::Balancer::Executor::run($env, $plan, cfg => $conf, kind => 'balance') };
    is($@, '', 'executed');
    is($rec->{moved}, scalar(@{ $plan->{migrations} }), 'every migration done');
    ok(!grep({ $_->[3] ne 'root@pam' } @{ $sim->{api_requests} // [] }),
        'remote migrations with root\'s service ticket');
    is(PVE::Balancer::History::read_runs($env)->[0]->{status}, 'ok', 'recorded');
};

done_testing();
