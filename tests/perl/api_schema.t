#!/usr/bin/perl
# The API's JSON schemas: every method is fully described (parameters with
# additionalProperties => 0, returns, permissions, description), bad input is refused with an
# HTTP 400 PVE::Exception whose 'errors' name the field, engine errors that name an argument
# become such errors too, and results match the return schemas (every call in these tests
# runs with result verification).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use PVEBalancerTest::Setup;
use PVEBalancerTest::API;

use Test::More;

use PVE::Balancer::APIRegister;
use PVE::Balancer::Config;

my ($sim, $env) = PVEBalancerTest::Setup::cluster('executor.json');

sub call {
    return PVEBalancerTest::API::call(@_);
}

# Runs a call that must fail; returns the exception.
sub fails {
    my (@args) = @_;
    my $res = eval { call(@args) };
    return $@;
}

my @methods = (
    ['GET', '/cluster/balance', 'status'],
    ['POST', '/cluster/balance', 'balance'],
    ['POST', '/cluster/balance/evacuate', 'evacuate'],
    ['GET', '/cluster/balance/capacity', 'capacity'],
    ['GET', '/cluster/balance/failover', 'failover'],
    ['GET', '/cluster/balance/place', 'place'],
    ['GET', '/cluster/balance/config', 'get_config'],
    ['PUT', '/cluster/balance/config', 'set_config'],
    ['GET', '/cluster/balance/snapshot', 'snapshot'],
);

for my $m (@methods) {
    my ($method, $path, $name) = @$m;
    my $info = PVEBalancerTest::API::handler_info($method, $path);
    ok($info, "$method $path is registered") or next;
    is($info->{name}, $name, "$method $path: name $name");
    ok($info->{description}, "$name: description");
    is($info->{parameters}->{additionalProperties}, 0, "$name: additionalProperties => 0");
    ok($info->{returns}, "$name: return schema");
    ok($info->{permissions} && ($info->{permissions}->{check} || $info->{permissions}->{user}),
        "$name: permissions");
    for my $p (sort keys %{ $info->{parameters}->{properties} }) {
        my $s = $info->{parameters}->{properties}->{$p};
        ok($s->{description}, "$name: parameter $p is described") or last;
    }
}

# every key of balancer.cfg is an API parameter of PUT config, every engine option one of POST
{
    my $put = PVEBalancerTest::API::handler_info('PUT', '/cluster/balance/config');
    my $post = PVEBalancerTest::API::handler_info('POST', '/cluster/balance');
    my $schema = PVE::Balancer::Config::config_schema();
    is_deeply([grep { !$put->{parameters}->{properties}->{$_} } sort keys %$schema], [],
        'PUT config takes every key');
    is_deeply(
        [grep { !$post->{parameters}->{properties}->{$_} }
            @{ PVE::Balancer::Config::engine_option_names() }],
        [], 'POST takes every engine option',
    );
    is(scalar(@{ PVE::Balancer::Config::engine_option_names() }), 25,
        'the 25 engine options of docs/options.md');
}

# schema errors: HTTP 400, the field named
my @bad = (
    ['POST', '/cluster/balance', { 'max-migrations' => 'ten' }, 'max-migrations',
        qr/type check \('integer'\) failed/],
    ['POST', '/cluster/balance', { 'max-migrations' => -1 }, 'max-migrations',
        qr/minimum value of 0/],
    ['POST', '/cluster/balance', { 'cpu-limit' => 2 }, 'cpu-limit', qr/maximum value of 1/],
    ['POST', '/cluster/balance', { mode => 'fast' }, 'mode', qr/enumeration 'used, static'/],
    ['POST', '/cluster/balance', { 'memory-reserve' => '1 GB' }, 'memory-reserve',
        qr/regex pattern/],
    ['POST', '/cluster/balance', { apply => 'yes' }, 'apply', qr/type check \('boolean'\)/],
    ['POST', '/cluster/balance', { 'on-failure' => 'retry' }, 'on-failure', qr/enumeration/],
    ['POST', '/cluster/balance', { digest => 'xyz' }, 'digest', qr/regex pattern/],
    ['POST', '/cluster/balance', { bogus => 1 }, 'bogus', qr/not defined in schema/],
    ['POST', '/cluster/balance', { 'storage-map' => 'local-zfs' }, 'storage-map',
        qr/regex pattern/],
    ['POST', '/cluster/balance/evacuate', {}, 'node', qr/property is missing/],
    ['POST', '/cluster/balance/evacuate', { node => 'pve 1!' }, 'node', qr/invalid format/],
    ['GET', '/cluster/balance/capacity', { 'target-failures' => 0 }, 'target-failures',
        qr/minimum value of 1/],
    ['GET', '/cluster/balance/failover', {}, 'failed-node', qr/property is missing/],
    ['GET', '/cluster/balance/place', { vmid => 42 }, 'vmid', qr/minimum value of 100|format/],
    ['GET', '/cluster/balance/place', { mem => 'lots', cpu => 1 }, 'mem', qr/regex pattern/],
    ['GET', '/cluster/balance', { runs => 1000 }, 'runs', qr/maximum value of 200/],
    ['PUT', '/cluster/balance/config', { interval => 0 }, 'interval', qr/minimum value of 1/],
    ['PUT', '/cluster/balance/config', { 'ha-scheduler' => 'fancy' }, 'ha-scheduler',
        qr/enumeration 'compatible, capacity-aware'/],
    ['GET', '/cluster/balance/snapshot', { kind => 'all' }, 'kind', qr/enumeration/],
);
for my $b (@bad) {
    my ($method, $path, $param, $field, $re) = @$b;
    my $err = fails($method, $path, $param);
    my $what = "$method $path " . join(',', map { "$_=$param->{$_}" } sort keys %$param);
    isa_ok($err, 'PVE::Exception', $what) or next;
    is($err->{code}, 400, "$what: HTTP 400");
    like($err->{errors}->{$field} // '', $re, "$what: error names '$field'");
}

# semantic parameter errors, raised by the handler or mapped from the engine
my @semantic = (
    ['GET', '/cluster/balance/place', {}, { cpu => qr/required/, mem => qr/required/ }],
    ['GET', '/cluster/balance/place', { vmid => 201, cpu => 2 }, { vmid => qr/either/ }],
    ['GET', '/cluster/balance/place', { vmid => 999 }, { vmid => qr/no guest 999/ }],
    ['POST', '/cluster/balance/evacuate', { node => 'nosuch' },
        { node => qr/unknown node "nosuch"/ }],
    ['GET', '/cluster/balance/failover', { 'failed-node' => 'nosuch' },
        { 'failed-node' => qr/unknown node/ }],
    ['POST', '/cluster/balance', { 'maintenance-nodes' => 'nosuch' },
        { 'maintenance-nodes' => qr/unknown node/ }],
    ['PUT', '/cluster/balance/config', { delete => 'nokey' }, { delete => qr/unknown key/ }],
    ['PUT', '/cluster/balance/config', { auto => 1, delete => 'auto' },
        { auto => qr/cannot set and delete/ }],
    ['PUT', '/cluster/balance/config', {}, { delete => qr/nothing to change/ }],
);
for my $s (@semantic) {
    my ($method, $path, $param, $fields) = @$s;
    my $err = fails($method, $path, $param);
    my $what = "$method $path " . join(',', map { "$_=$param->{$_}" } sort keys %$param);
    isa_ok($err, 'PVE::Exception', $what) or next;
    is($err->{code}, 400, "$what: HTTP 400");
    for my $f (sort keys %$fields) {
        like($err->{errors}->{$f} // '', $fields->{$f}, "$what: error names '$f'");
    }
}

# a broken balancer.cfg is an error naming the line
{
    my $cfs = $PVE::Balancer::Env::default_args->{cfs_root};
    open(my $fh, '>', "$cfs/balancer.cfg") or die;
    print $fh "# test\nmax-migrations: 5\nmax-migratoins: 3\n";
    close($fh);
    my $err = fails('GET', '/cluster/balance/config', {});
    like("$err", qr/balancer\.cfg line 3: unknown key 'max-migratoins'/, 'unknown key in balancer.cfg');
    open($fh, '>', "$cfs/balancer.cfg") or die;
    print $fh "max-migrations: many\n";
    close($fh);
    $err = fails('GET', '/cluster/balance/config', {});
    like("$err", qr/max-migrations: type check/, 'bad value in balancer.cfg');
    unlink("$cfs/balancer.cfg");
}

# results match the return schemas (result verification is on in PVEBalancerTest::API)
for my $c (
    ['GET', '/cluster/balance', {}],
    ['POST', '/cluster/balance', {}],
    ['POST', '/cluster/balance/evacuate', { node => 'pve2' }],
    ['GET', '/cluster/balance/capacity', { 'target-failures' => 2 }],
    ['GET', '/cluster/balance/failover', { 'failed-node' => 'pve1' }],
    ['GET', '/cluster/balance/place', { cpu => 2, mem => '4G', tags => 'pvebal-pin-pve2' }],
    ['GET', '/cluster/balance/place', { vmid => 201 }],
    ['GET', '/cluster/balance/config', { defaults => 1 }],
    ['GET', '/cluster/balance/snapshot', { kind => 'raw' }],
) {
    my ($method, $path, $param) = @$c;
    my $res = eval { call($method, $path, $param) };
    is($@, '', "$method $path: result matches its return schema");
}

done_testing();
