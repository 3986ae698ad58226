#!/usr/bin/perl
# Permissions of /cluster/balance: Sys.Audit on / to read and to compute plans, Sys.Modify on /
# plus VM.Migrate on every guest of the plan to apply one, Sys.Audit + VM.Audit on /vms for
# the snapshot, Sys.Modify on / to change the configuration.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use PVEBalancerTest::Setup;
use PVEBalancerTest::API;

use Test::More;

use PVE::APIClient::LWP;
use PVE::Balancer::APIRegister;
use PVE::Balancer::History;

my $acl = {
    'auditor@pve' => { '/' => ['Sys.Audit'] },
    'viewer@pve' => { '/' => ['Sys.Audit'], '/vms' => ['VM.Audit'] },
    'migrator@pve' => { '/' => ['Sys.Audit'], '/vms' => ['VM.Migrate'] },
    'limited@pve' => { '/' => ['Sys.Audit', 'Sys.Modify'], '/vms/203' => ['VM.Migrate'] },
    'operator@pve' => { '/' => ['Sys.Audit', 'Sys.Modify'], '/vms' => ['VM.Migrate'] },
};

my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json', acl => $acl);

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

# computing a plan is reading
my $plan = allowed('auditor@pve', 'POST', '/cluster/balance', {});
ok(@{ $plan->{migrations} } >= 2, 'the dry run returns a plan');
allowed('auditor@pve', 'POST', '/cluster/balance/evacuate', { node => 'pve2' });

# applying needs Sys.Modify on / ...
denied('auditor@pve', 'POST', '/cluster/balance', { apply => 1 }, qr/\/, Sys\.Modify/);
denied('migrator@pve', 'POST', '/cluster/balance', { apply => 1 }, qr/\/, Sys\.Modify/);
denied('migrator@pve', 'POST', '/cluster/balance/evacuate', { node => 'pve2', apply => 1 },
    qr/Sys\.Modify/);

# ... and VM.Migrate on every guest of the plan
my ($first) = grep { $_->{vmid} != 203 } @{ $plan->{migrations} };
denied('limited@pve', 'POST', '/cluster/balance', { apply => 1 },
    qr/\/vms\/$first->{vmid}, VM\.Migrate/);
is(scalar(@{ $sim->{migrations} }), 0, 'nothing was migrated for refused users');
is(scalar(@{ PVE::Balancer::History::read_runs($env) }), 0, 'no run was started');

# an operator may
my $upid = allowed('operator@pve', 'POST', '/cluster/balance', { apply => 1 });
like($upid, qr/^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:balance::operator\@pve:$/,
    'UPID of the balance task, as the operator');
my $log = PVE::RPCEnvironment::get()->task_log($upid);
like($log, qr/^TASK OK$/m, 'task succeeded');
my $run = PVE::Balancer::History::read_runs($env)->[0];
is($run->{user}, 'operator@pve', 'run recorded with the user');
my @posts = grep { $_->[0] eq 'POST' } @PVE::APIClient::LWP::requests;
ok(@posts && !grep({ $_->[3] ne 'operator@pve' } @posts),
    'migrations on other nodes requested with the operator\'s credentials');

# configuration
denied('auditor@pve', 'PUT', '/cluster/balance/config', { auto => 1 }, qr/\/, Sys\.Modify/);
allowed('operator@pve', 'PUT', '/cluster/balance/config', { auto => 1 });

# root@pam may everything
allowed('root@pam', 'GET', '/cluster/balance/snapshot', {});

done_testing();
