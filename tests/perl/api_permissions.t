#!/usr/bin/perl
# Permissions of /cluster/balance: Sys.Audit on / to read and to compute plans, Sys.Modify on /
# plus VM.Migrate on every guest the plan moves (HA affinity partners included) to apply one,
# Sys.Audit + VM.Audit on /vms for the snapshot, Sys.Modify on / to change the configuration.
# Answers name only guests the caller has VM.Audit on (as GET /cluster/resources); the others
# are counted in 'hidden-guests'. Covered: a user with Sys.Audit only, one with VM.Audit on a
# pool, one with VM.Migrate on some guests.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use PVEBalancerTest::Setup;
use PVEBalancerTest::API;

use Test::More;

use PVE::APIClient::LWP;
use PVE::Balancer::APIRegister;
use PVE::Balancer::Access;
use PVE::Balancer::Planner;
use PVE::Balancer::History;

my $acl = {
    'auditor@pve' => { '/' => ['Sys.Audit'] },
    'pooled@pve' => { '/' => ['Sys.Audit'], '/pool/web' => ['VM.Audit'] },
    'some@pve' => { '/' => ['Sys.Audit', 'Sys.Modify'], '/vms' => ['VM.Audit'],
        '/vms/201' => ['VM.Migrate'], '/vms/203' => ['VM.Migrate'] },
    'viewer@pve' => { '/' => ['Sys.Audit'], '/vms' => ['VM.Audit'] },
    'migrator@pve' => { '/' => ['Sys.Audit'], '/vms' => ['VM.Migrate'] },
    'limited@pve' => { '/' => ['Sys.Audit', 'Sys.Modify'], '/vms/203' => ['VM.Migrate'] },
    'operator@pve' => { '/' => ['Sys.Audit', 'Sys.Modify'], '/vms' => ['VM.Migrate'] },
};

my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json', acl => $acl);
$sim->{usercfg}->{vms} = { 201 => 'web', 203 => 'web' };

sub as {
    my ($user, $method, $path, $param) = @_;
    my $res = eval { PVEBalancerTest::API::call($method, $path, $param // {}, user => $user) };
    return ($res, $@);
}

sub denied {
    my ($user, $method, $path, $param, $what) = @_;
    my ($res, $err) = as($user, $method, $path, $param);
    my $name = "$user: $method $path" . ($param && $param->{apply} ? ' apply' : '');
    ok(ref($err) && $err->{code} == 403, "$name is refused (403)")
        or diag("got: " . ($err || 'success'));
    like("$err", $what, "$name: names the missing privilege") if $what;
}

sub allowed {
    my ($user, $method, $path, $param) = @_;
    my ($res, $err) = as($user, $method, $path, $param);
    my $name = "$user: $method $path" . ($param && $param->{apply} ? ' apply' : '');
    is($err, '', "$name is allowed");
    return $res;
}

# reading
denied('nobody@pve', 'GET', '/cluster/balance', {}, qr/\/, Sys\.Audit/);
denied('nobody@pve', 'GET', '/cluster/balance/capacity', {});
denied('nobody@pve', 'GET', '/cluster/balance/config', {});
denied('nobody@pve', 'POST', '/cluster/balance', {});
allowed('auditor@pve', 'GET', '/cluster/balance', {});
allowed('auditor@pve', 'GET', '/cluster/balance/capacity', {});
allowed('auditor@pve', 'GET', '/cluster/balance/failover', { 'failed-node' => 'pve1' });
allowed('auditor@pve', 'GET', '/cluster/balance/place', { cpu => 1, mem => '1G' });
allowed('auditor@pve', 'GET', '/cluster/balance/config', {});

# the snapshot lists every guest with disks and devices: VM.Audit on /vms as well
denied('auditor@pve', 'GET', '/cluster/balance/snapshot', {}, qr/\/vms, VM\.Audit/);
allowed('viewer@pve', 'GET', '/cluster/balance/snapshot', {});

# computing a plan is reading; guests are named only with VM.Audit
my $full = allowed('root@pam', 'POST', '/cluster/balance', {});
ok(@{ $full->{migrations} } >= 2, 'the dry run returns a plan');
my $n = scalar(@{ $full->{migrations} });

my $plan = allowed('auditor@pve', 'POST', '/cluster/balance', {});
is(scalar(@{ $plan->{migrations} }), 0, 'Sys.Audit only: no guest of the plan is named');
is($plan->{'hidden-guests'}, $n, '... they are counted');
is_deeply($plan->{metrics}, $full->{metrics}, '... the cluster metrics are there');
is($plan->{digest}, $full->{digest}, '... and the digest of the whole plan');

my $pooled = allowed('pooled@pve', 'POST', '/cluster/balance', {});
my @mine = grep { $_->{vmid} == 201 || $_->{vmid} == 203 } @{ $full->{migrations} };
is_deeply([map { $_->{vmid} } @{ $pooled->{migrations} }], [map { $_->{vmid} } @mine],
    'VM.Audit on a pool: exactly the pool\'s guests are named');
is($pooled->{'hidden-guests'} // 0, $n - @mine, '... the others counted');

my $status = allowed('auditor@pve', 'GET', '/cluster/balance', {});
ok($status->{metrics} && @{ $status->{nodes} }, 'status: node view for Sys.Audit');
my $failover = allowed('auditor@pve', 'GET', '/cluster/balance/failover', { 'failed-node' => 'pve1' });
ok(!grep({ defined($_->{vmid}) } @{ $failover->{migrations} }, @{ $failover->{unplaced} }),
    'failover: no guest named');
ok($failover->{'hidden-guests'}, '... counted');
my $pool_failover = allowed('pooled@pve', 'GET', '/cluster/balance/failover',
    { 'failed-node' => 'pve1', 'all-guests' => 1 });
ok(!grep({ $_->{vmid} != 201 && $_->{vmid} != 203 } @{ $pool_failover->{migrations} },
    @{ $pool_failover->{unplaced} }), 'failover for the pool user: only pool guests');
denied('auditor@pve', 'GET', '/cluster/balance/place', { vmid => 202 }, qr/\/vms\/202, VM\.Audit/);
allowed('pooled@pve', 'GET', '/cluster/balance/place', { vmid => 201 });
allowed('auditor@pve', 'POST', '/cluster/balance/evacuate', { node => 'pve2' });

# applying needs Sys.Modify on / ...
denied('auditor@pve', 'POST', '/cluster/balance', { apply => 1 }, qr/\/, Sys\.Modify/);
denied('migrator@pve', 'POST', '/cluster/balance', { apply => 1 }, qr/\/, Sys\.Modify/);
denied('migrator@pve', 'POST', '/cluster/balance/evacuate', { node => 'pve2', apply => 1 },
    qr/Sys\.Modify/);

# ... and VM.Migrate on every guest of the plan
my @vmids = sort { $a <=> $b } map { $_->{vmid} } @{ $full->{migrations} };
my ($first) = grep { $_ != 203 } @vmids;
denied('limited@pve', 'POST', '/cluster/balance', { apply => 1 }, qr/\/vms\/$first, VM\.Migrate/);
my ($other) = grep { $_ != 201 && $_ != 203 } @vmids;
denied('some@pve', 'POST', '/cluster/balance', { apply => 1 }, qr/\/vms\/$other, VM\.Migrate/);
my $some_plan = allowed('some@pve', 'POST', '/cluster/balance', {});
is(scalar(@{ $some_plan->{migrations} }), $n, 'VM.Migrate on some guests, VM.Audit on all: sees the plan');

# an HA guest's positive-affinity partners move along: they need VM.Migrate too
{
    my $snap = { ha => { rules => [
        { rule => 'r1', type => 'resource-affinity', affinity => 'positive',
            resources => 'vm:209,vm:210' },
        { rule => 'r2', type => 'resource-affinity', affinity => 'positive',
            resources => 'vm:210,vm:205' },
        { rule => 'off', type => 'resource-affinity', affinity => 'positive', disable => 1,
            resources => 'vm:209,vm:204' },
        { rule => 'apart', type => 'resource-affinity', affinity => 'negative',
            resources => 'vm:209,vm:206' },
    ] } };
    is_deeply(PVE::Balancer::Access::guests_moved({ migrations => [{ vmid => 209 }] }, $snap),
        [205, 209, 210], 'moved guests: the merged positive group, not disabled or negative rules');
    $sim->{ha}->{rules}->{ids}->{together} = { type => 'resource-affinity',
        affinity => 'positive', resources => { 'vm:209' => 1, 'vm:210' => 1 } };
    $sim->{datacenter}->{crs}->{ha} = 'static';
    my $partner_acl = { %$acl, 'partner@pve' => { '/' => ['Sys.Audit', 'Sys.Modify'],
        '/vms' => ['VM.Audit'], '/vms/209' => ['VM.Migrate'] } };
    PVE::RPCEnvironment::get()->set_acl($partner_acl);
    no warnings 'redefine';
    local *PVE::Balancer::Planner::compute = sub {
        my ($env, $cfg, $kind, $args) = @_;
        my $snapshot = PVE::Balancer::Planner::collect($env, $cfg, rrd => 0);
        my $p = { kind => 'balance', migrations => [{ step => 1, wave => 1, vmid => 209,
            type => 'qemu', from => 'pve1', to => 'pve2', mode => 'online' }] };
        $p->{digest} = PVE::Balancer::Planner::plan_digest($p);
        return ($p, $snapshot);
    };
    denied('partner@pve', 'POST', '/cluster/balance', { apply => 1 }, qr/\/vms\/210, VM\.Migrate/);
    delete $sim->{ha}->{rules}->{ids}->{together};
    delete $sim->{datacenter}->{crs}->{ha};
    PVE::RPCEnvironment::get()->set_acl($acl);
}
is(scalar(@{ $sim->{migrations} }), 0, 'nothing was migrated for refused users');
is(scalar(@{ PVE::Balancer::History::read_runs($env) }), 0, 'no run was started');

# an operator may
# (without the improvement phase the plan also moves a guest of pve2: a request to another node)
my $upid = allowed('operator@pve', 'POST', '/cluster/balance',
    { apply => 1, 'improve-plan' => 0 });
like($upid, qr/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:balance::operator\@pve:$/,
    'UPID of the balance task, as the operator');
my $log = PVE::RPCEnvironment::get()->task_log($upid);
like($log, qr/^TASK OK$/m, 'task succeeded');
my $run = PVE::Balancer::History::read_runs($env)->[0];
is($run->{user}, 'operator@pve', 'run recorded with the user');
my @posts = grep { $_->[0] eq 'POST' } @{ $sim->{api_requests} // [] };
ok(@posts && !grep({ $_->[3] ne 'operator@pve' } @posts),
    'migrations on other nodes requested with the operator\'s credentials');

# configuration
denied('auditor@pve', 'PUT', '/cluster/balance/config', { auto => 1 }, qr/\/, Sys\.Modify/);
allowed('operator@pve', 'PUT', '/cluster/balance/config', { auto => 1 });

# root@pam may everything
allowed('root@pam', 'GET', '/cluster/balance/snapshot', {});

done_testing();
