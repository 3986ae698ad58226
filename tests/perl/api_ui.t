#!/usr/bin/perl
# What the web UI (www/pve-balancer.js) reads from /cluster/balance beyond the plans: the
# caller's 'permissions' in the status and in dry runs (Apply is disabled with 'why'), the
# schema of balancer.cfg (GET config/schema, the Settings dialog is built from it) and the
# per-request 'ha-guests' of a balance plan (the plan dialog's "HA guests" option).

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

my $acl = {
    'auditor@pve' => { '/' => ['Sys.Audit'] },
    'limited@pve' => { '/' => ['Sys.Audit', 'Sys.Modify'], '/vms' => ['VM.Audit'], '/vms/203' => ['VM.Migrate'] },
    'operator@pve' => { '/' => ['Sys.Audit', 'Sys.Modify'], '/vms' => ['VM.Migrate'] },
};

my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json', acl => $acl);

sub call {
    my ($user, $method, $path, $param) = @_;
    return PVEBalancerTest::API::call($method, $path, $param // {}, user => $user);
}

# status: Sys.Modify decides, there is no plan yet
my $st = call('auditor@pve', 'GET', '/cluster/balance');
is_deeply([@{ $st->{permissions} }{qw(apply config)}], [0, 0], 'auditor: status says no apply, no config');
like($st->{permissions}->{why}, qr/'Sys\.Modify' on '\/'/, 'auditor: why names Sys.Modify on /');
$st = call('operator@pve', 'GET', '/cluster/balance');
is_deeply($st->{permissions}, { apply => 1, config => 1 }, 'operator: status allows both, no why');

# dry runs: VM.Migrate on each guest of the plan as well
my $plan = call('limited@pve', 'POST', '/cluster/balance', { 'max-migrations' => 3 });
ok(@{ $plan->{migrations} } >= 2, 'the dry run plans several guests');
my @others = sort { $a <=> $b } grep { $_ != 203 } map { $_->{vmid} } @{ $plan->{migrations} };
is($plan->{permissions}->{apply}, 0, 'limited: this plan cannot be applied');
is($plan->{permissions}->{config}, 1, 'limited: may change the configuration');
is($plan->{permissions}->{why}, "Applying needs 'VM.Migrate' on " . join(', ', map { "/vms/$_" } @others),
    'limited: why names the guests without VM.Migrate');
unlike($plan->{permissions}->{why}, qr/\/vms\/203\b/, 'limited: not the guest it may migrate');
$plan = call('operator@pve', 'POST', '/cluster/balance', { 'max-migrations' => 3 });
is_deeply($plan->{permissions}, { apply => 1, config => 1 }, 'operator: the plan may be applied');
$plan = call('auditor@pve', 'POST', '/cluster/balance/evacuate', { node => 'pve2' });
like($plan->{permissions}->{why}, qr/Sys\.Modify.*VM\.Migrate/, 'auditor evacuate: both missing');

# config/schema: every key of PUT config, once, with what a form needs
my $schema = call('auditor@pve', 'GET', '/cluster/balance/config/schema');
my $put = PVEBalancerTest::API::handler_info('PUT', '/cluster/balance/config');
my @put_keys = sort grep { $_ ne 'delete' && $_ ne 'digest' } keys %{ $put->{parameters}->{properties} };
is_deeply([map { $_->{key} } @$schema], \@put_keys, 'the schema lists every key of PUT config, sorted');
my $defaults = PVE::Balancer::Config::defaults();
my %by_key = map { $_->{key} => $_ } @$schema;
# booleans: the API schema says 0/1 (as PVE's JSONSchema does), Config::defaults() JSON booleans
my $plain = sub { JSON::is_bool($_[0]) ? ($_[0] ? 1 : 0) : $_[0] };
is_deeply({ map { $_ => $plain->($by_key{$_}->{default}) } grep { defined($by_key{$_}->{default}) } keys %by_key },
    { map { $_ => $plain->($defaults->{$_}) } keys %$defaults }, 'defaults are the configuration\'s defaults');
ok(!grep({ !$_->{type} || !$_->{description} } @$schema), 'every key has a type and a description');
is($by_key{'max-migrations'}->{engine}, 1, 'max-migrations is an engine option');
is($by_key{interval}->{engine}, 0, 'interval is not');
is_deeply($by_key{'ha-guests'}->{enum}, ['auto', 'move', 'skip'], 'enums are listed');
is($by_key{interval}->{minimum}, 1, 'ranges are listed');
like(JSON->new->encode($by_key{'memory-limit'}), qr/"default":0\.9\b/, 'defaults are JSON numbers');

# ha-guests per request wins over balancer.cfg: skip leaves the HA guests (209, 210) alone
call('root@pam', 'PUT', '/cluster/balance/config', { 'ha-guests' => 'move' });
{
    $plan = eval { call('operator@pve', 'POST', '/cluster/balance', { 'ha-guests' => 'skip' }) };
    diag("ha-guests=skip: $@") if $@;
    ok($plan && !grep({ $_->{ha} } @{ $plan->{migrations} }), 'ha-guests=skip: no HA guest in the plan');
    ok($plan && grep({ m/HA-managed guest\(s\) left in place: ha-guests is 'skip'/ } @{ $plan->{notes} }),
        'ha-guests=skip: the plan says so, although balancer.cfg says move');
}
my $err = do { eval { call('operator@pve', 'POST', '/cluster/balance', { 'ha-guests' => 'maybe' }) }; $@ };
ok(ref($err) && $err->{code} == 400 && $err->{errors}->{'ha-guests'}, 'a bad ha-guests is a 400 on that field');
$err = do { eval { call('operator@pve', 'POST', '/cluster/balance/evacuate', { node => 'pve2', 'ha-guests' => 'skip' }) }; $@ };
ok(ref($err) && $err->{errors}->{'ha-guests'}, 'evacuate has no ha-guests (it always moves them)');

done_testing();
